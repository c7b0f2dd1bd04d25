"""The parameters of the OpenAPI document: the reusable `page` and `pageSize`, and the path
and query parameters of single operations.
"""

from __future__ import annotations

from typing import Any

from app.openapi.builders import id_of
from app.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

#: References to the reusable paging parameters, for every list.
PAGE = {"$ref": "#/components/parameters/page"}
PAGE_SIZE = {"$ref": "#/components/parameters/pageSize"}


def parameters() -> dict[str, dict[str, Any]]:
    """The reusable parameters: `page` and `pageSize`."""
    return {
        "page": {
            "name": "page",
            "in": "query",
            "description": "The page, from 1.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999, "default": 1},
        },
        "pageSize": {
            "name": "pageSize",
            "in": "query",
            "description": "Items per page.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
            },
        },
    }


def path_id(name: str, prefix: str, noun: str) -> dict[str, Any]:
    """The path parameter `name`: the id of one `noun`, `prefix_` and a ULID."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {noun}'s id; a malformed one is 404.",
        "schema": id_of(prefix),
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional query parameter."""
    return {"name": name, "in": "query", "description": description, "schema": schema}


#: `{run_id}`, in the paths of a run, its operations and its cost.
RUN_ID = path_id("run_id", "wfrun", "workflow run")
