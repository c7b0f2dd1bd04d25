"""The building blocks of the document's JSON Schemas: closed records, bounded text and
integers, public ids, timestamps and references to components.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models.ids import PREFIXES

#: The 26 lowercase Crockford base-32 characters of a ULID (`models.ids`).
_ULID = "[0-9a-hjkmnp-tv-z]{26}"

#: `2026-11-28T21:40:32.123Z`: UTC with milliseconds (SPEC section 1).
TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$",
}

#: Any JSON value.
ANY: dict[str, Any] = {}

#: Any JSON object.
OBJECT = {"type": "object"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def id_of(prefix: str) -> dict[str, str]:
    """A public id of one type: `wfrun_` and a ULID."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return {"type": "string", "pattern": f"^{prefix}_{_ULID}$"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null."""
    if set(schema) <= {"type", "format", "pattern", "minLength", "maxLength", "minimum"}:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def text(min_length: int = 1, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": min_length}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def integer(minimum: int | None = None, maximum: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def record(properties: dict[str, Any], optional: Iterable[str] = ()) -> dict[str, Any]:
    """A closed object: these members and no others, all required but `optional`."""
    optional = frozenset(optional)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }
