"""Dot paths into a run's data: `input.a.b`, `state.a.b`, or a bare `a.b` (state, then input)."""

from __future__ import annotations

from typing import Any

#: Returned when a path names nothing; distinct from a stored `null`.
MISSING = object()


def resolve(path: str, input: dict, state: dict) -> Any:
    """The value a path names, or `MISSING`."""
    head, _, rest = path.partition(".")
    if head == "input":
        return _walk(input, rest)
    if head == "state":
        return _walk(state, rest)
    found = _walk(state, path)
    return found if found is not MISSING else _walk(input, path)


def _walk(value: Any, path: str) -> Any:
    if path == "":
        return value
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value
