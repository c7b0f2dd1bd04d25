"""Dot paths into a run's data: `input.a.b`, `state.a.b`, or a bare `a.b` (state, then input)."""

from __future__ import annotations

from typing import Any

#: Returned when a path names nothing; distinct from a stored `null`.
MISSING = object()


def resolve(path: str, input: dict, state: dict) -> Any:
    """The value a path names, or `MISSING`."""
    head, _, rest = path.partition(".")
    if head == "input":
        return walk(input, rest)
    if head == "state":
        return walk(state, rest)
    found = walk(state, path)
    return found if found is not MISSING else walk(input, path)


def walk(value: Any, path: str) -> Any:
    """What a dot path names inside `value` (dict keys, list indexes), or `MISSING`."""
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
