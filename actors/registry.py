"""Task handlers users register, and the modules that register them.

The extension API is fixed: `from actors.registry import task_handler, NonRetryableError`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from models.config import settings

#: A handler takes the step context and the step's config and returns a dict to merge into state.
Handler = Callable[[Any, dict], dict | None]

_handlers: dict[str, Handler] = {}


class NonRetryableError(Exception):
    """Raised by a handler to fail its step at once, without retries."""


class UnknownHandler(LookupError):
    """No task handler is registered under that name."""


def task_handler(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the task handler called `name`."""

    def register(fn: Handler) -> Handler:
        _handlers[name] = fn
        return fn

    return register


def get_handler(name: str) -> Handler:
    try:
        return _handlers[name]
    except KeyError:
        raise UnknownHandler(name) from None


def is_registered(name: str) -> bool:
    return name in _handlers


def load_handler_modules(modules: tuple[str, ...] = settings.handler_modules) -> None:
    """Import the modules named in `STEVORA_HANDLERS` so their decorators run.

    The working directory is searched too, as gunicorn and dramatiq do, so `stevora` finds them.
    """
    if modules and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for module in modules:
        importlib.import_module(module)


@task_handler("noop")
def noop(ctx: Any, config: dict) -> dict:
    """Does nothing; useful to mark a point in a workflow."""
    return {}


@task_handler("echo")
def echo(ctx: Any, config: dict) -> dict:
    """Returns its config, merged into the run's state."""
    return dict(config or {})
