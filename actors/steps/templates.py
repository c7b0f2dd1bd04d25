"""`{{ path }}` templates in step config, resolved against the run's input and state.

A string that is exactly one template takes the value itself (a number stays a number); a
template inside longer text is rendered as text, JSON for objects and lists.
"""

from __future__ import annotations

import json
import re
from typing import Any

from actors.steps.paths import MISSING, resolve

_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


class TemplateUnresolved(LookupError):
    """A template names a path that is in neither the input nor the state."""

    def __init__(self, path: str) -> None:
        super().__init__(f"template {{{{{path}}}}} names nothing in input or state")
        self.path = path


def render(value: Any, input: dict, state: dict) -> Any:
    """Resolve every template in `value`, walking through dicts and lists."""
    if isinstance(value, str):
        return _render_string(value, input, state)
    if isinstance(value, dict):
        return {key: render(item, input, state) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, input, state) for item in value]
    return value


def _render_string(text: str, input: dict, state: dict) -> Any:
    whole = _TEMPLATE.fullmatch(text.strip())
    if whole is not None:
        return _lookup(whole.group(1), input, state)
    return _TEMPLATE.sub(lambda m: _as_text(_lookup(m.group(1), input, state)), text)


def _lookup(path: str, input: dict, state: dict) -> Any:
    found = resolve(path, input, state)
    if found is MISSING:
        raise TemplateUnresolved(path)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
