"""Task handlers and LLM tools users register, and the modules that register them.

The extension API is fixed:
`from actors.registry import task_handler, llm_tool, NonRetryableError`.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

#: A handler takes the step context and the step's config and returns a dict to merge into state.
Handler = Callable[[Any, dict], dict | None]

#: A tool takes the step context and the arguments the model chose (a dict) and returns any
#: JSON value (a string is passed to the model as it is).
ToolFunction = Callable[[Any, dict], Any]

#: The names both providers accept for a tool.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: The parameters of a tool that declares none: an object with any members.
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

_handlers: dict[str, Handler] = {}
_tools: dict[str, LlmTool] = {}


class NonRetryableError(Exception):
    """Raised by a handler to fail its step at once, without retries."""


class UnknownHandler(LookupError):
    """No task handler is registered under that name."""


class UnknownTool(LookupError):
    """No LLM tool is registered under that name."""


@dataclass(frozen=True)
class LlmTool:
    """A function an llm step offers the model, described as the providers want it."""

    name: str
    description: str
    #: JSON Schema of the arguments object; the model's arguments are checked against it.
    parameters: dict[str, Any]
    fn: ToolFunction = field(repr=False)


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


def llm_tool(
    name: str, description: str = "", parameters: dict[str, Any] | None = None
) -> Callable[[ToolFunction], ToolFunction]:
    """Register the decorated function as the LLM tool called `name`.

    It is called as `fn(ctx, arguments)`, `arguments` being the dict the model chose (checked
    against `parameters`, a JSON Schema). Raising `NonRetryableError` fails the step; any other
    exception is told to the model as the tool's result, so it can try another way.

    Raises:
      ValueError: the name is not one the providers accept.
      jsonschema.SchemaError: `parameters` is not a valid JSON Schema.
    """
    if not TOOL_NAME.fullmatch(name):
        raise ValueError(f"LLM tool name {name!r} must match {TOOL_NAME.pattern}")
    parameters = parameters or NO_PARAMETERS
    jsonschema.validators.validator_for(parameters).check_schema(parameters)

    def register(fn: ToolFunction) -> ToolFunction:
        _tools[name] = LlmTool(name, description, parameters, fn)
        return fn

    return register


def get_tool(name: str) -> LlmTool:
    try:
        return _tools[name]
    except KeyError:
        raise UnknownTool(name) from None


def is_tool(name: str) -> bool:
    return name in _tools


def load_handler_modules(modules: tuple[str, ...]) -> None:
    """Import the modules named in `STEVORA_HANDLERS` so their decorators (handlers, tools) run.

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
