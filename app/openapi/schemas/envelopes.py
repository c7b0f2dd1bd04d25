"""The envelopes every answer comes in: one resource, a page of a list, or an error."""

from __future__ import annotations

from typing import Any

from app.errors import CODES
from app.pagination import WHOLE_LIST_LIMIT
from models.json_schema import integer, record, ref, text


def success(data: dict[str, Any]) -> dict[str, Any]:
    """The success envelope of one resource."""
    return record({"success": {"const": True}, "data": data})


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    """The success envelope of one page of a list."""
    return record(
        {
            "success": {"const": True},
            "data": {"type": "array", "items": item},
            "meta": ref("ListMeta"),
        }
    )


def _error_envelope() -> dict[str, Any]:
    # `field` names the member as sent: an unknown member named "" is reported as "".
    field = record({"field": {"type": "string"}, "message": text()})
    details = {
        "type": "object",
        "description": "Optional. A validation error lists each bad field in `fields`.",
        "properties": {"fields": {"type": "array", "items": field, "minItems": 1}},
    }
    error = record(
        {"code": {"enum": sorted(set(CODES.values()))}, "message": text(), "details": details},
        optional=("details",),
    )
    return record({"success": {"const": False}, "error": error})


def component_schemas() -> dict[str, dict[str, Any]]:
    """`ErrorEnvelope`, and `ListMeta`: the `meta` of a page."""
    return {
        "ErrorEnvelope": _error_envelope(),
        "ListMeta": record(
            {
                "page": integer(1),
                "pageSize": integer(1, WHOLE_LIST_LIMIT),
                "total": integer(0),
                "totalPages": integer(0),
            }
        ),
    }
