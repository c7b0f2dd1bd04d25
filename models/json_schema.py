"""Builders of JSON Schema fragments: closed records, bounded text and integers, references.

Shared by the step types' fields (`actors.steps.fields`) and the OpenAPI document (`app.openapi`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Any JSON value.
ANY: dict[str, Any] = {}

#: Any JSON object.
OBJECT = {"type": "object"}


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def text(min_length: int = 1, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": min_length}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def integer(minimum: int | None = None, maximum: int | None = None) -> dict[str, Any]:
    return bounded({"type": "integer"}, minimum, maximum)


def bounded(
    schema: dict[str, Any], minimum: Any = None, maximum: Any = None, default: Any = None
) -> dict[str, Any]:
    """`schema` with the bounds and default that are given."""
    for keyword, value in (("minimum", minimum), ("maximum", maximum), ("default", default)):
        if value is not None:
            schema[keyword] = value
    return schema


def record(properties: dict[str, Any], optional: Iterable[str] = ()) -> dict[str, Any]:
    """A closed object: these members and no others, all required but `optional`."""
    optional = frozenset(optional)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": dict(properties),
        "required": [name for name in properties if name not in optional],
    }
