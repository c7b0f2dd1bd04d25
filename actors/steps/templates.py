"""`{{ path }}` templates in step config, resolved against the run's input and state.

A string that is exactly one template takes the value itself (a number stays a number); a
template inside longer text is rendered as text, JSON for objects and lists. What one step
renders is bounded (`MAX_RENDERED_BYTES`, counted as it grows): a few bytes of template each
naming a large value cannot multiply into gigabytes in a worker.
"""

from __future__ import annotations

import json
import re
from typing import Any

from actors.steps.outcomes import Failed
from actors.steps.paths import MISSING, resolve
from models.documents import MAX_DOCUMENT_BYTES, serialized_size

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")

#: Most a step's rendered config, prompt or messages may come to, as UTF-8 JSON (SPEC section 5).
MAX_RENDERED_BYTES = MAX_DOCUMENT_BYTES


class TemplateError(LookupError):
    """A step's templates cannot be rendered; the step fails, not retried."""

    code = "TEMPLATE_ERROR"
    details: dict[str, Any] = {}

    def failed(self) -> Failed:
        return Failed(self.code, str(self), self.details, retryable=False)


class TemplateUnresolved(TemplateError):
    """A template names a path that is in neither the input nor the state."""

    code = "TEMPLATE_UNRESOLVED"

    def __init__(self, path: str) -> None:
        super().__init__(f"template {{{{{path}}}}} names nothing in input or state")
        self.path = path
        self.details = {"path": path}


class TemplateTooLarge(TemplateError):
    """What the templates render to passes `MAX_RENDERED_BYTES`."""

    code = "TEMPLATE_TOO_LARGE"

    def __init__(self) -> None:
        super().__init__(f"the step's templates render to more than {MAX_RENDERED_BYTES} bytes")
        self.details = {"limit": MAX_RENDERED_BYTES}


class Budget:
    """Bytes one step may still render; shared by every `render` call of the step."""

    def __init__(self, limit: int = MAX_RENDERED_BYTES) -> None:
        self.left = limit
        #: Sizes of the values templates named, measured once per path.
        self._sizes: dict[str, int] = {}

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise TemplateTooLarge()

    def size_of(self, path: str, value: Any) -> int:
        if path not in self._sizes:
            self._sizes[path] = (
                len(value.encode()) if isinstance(value, str) else serialized_size(value)
            )
        return self._sizes[path]


def render(value: Any, input: dict, state: dict, budget: Budget | None = None) -> Any:
    """Resolve every template in `value`, walking through dicts and lists."""
    budget = budget if budget is not None else Budget()
    if isinstance(value, str):
        return _render_string(value, input, state, budget)
    if isinstance(value, dict):
        return {key: render(item, input, state, budget) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, input, state, budget) for item in value]
    return value


def _render_string(text: str, input: dict, state: dict, budget: Budget) -> Any:
    whole = _TEMPLATE.fullmatch(text.strip())
    if whole is not None:
        path = whole.group(1)
        found = _lookup(path, input, state)
        budget.spend(budget.size_of(path, found))
        return found
    if "{{" not in text:
        budget.spend(len(text))
        return text

    def substitute(match: re.Match) -> str:
        path = match.group(1)
        found = _lookup(path, input, state)
        budget.spend(budget.size_of(path, found))
        return _as_text(found)

    budget.spend(len(text))
    return _TEMPLATE.sub(substitute, text)


def _lookup(path: str, input: dict, state: dict) -> Any:
    found = resolve(path, input, state)
    if found is MISSING:
        raise TemplateUnresolved(path)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
