"""The API's own pieces of the document's JSON Schemas: public ids, timestamps, nullables.

The general builders (records, text, integers, references) are in `models.json_schema`.
"""

from __future__ import annotations

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
