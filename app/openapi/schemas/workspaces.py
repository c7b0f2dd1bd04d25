"""The schemas of workspaces and their API keys."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from app.resources.workspaces import SLUG
from models.json_schema import integer, record, text
from models.rate_limits import BURST_SECONDS, MAX_PER_S, MIN_PER_S


def rate_limit_per_s() -> dict[str, Any]:
    """A workspace's own rate limit, or null for the default."""
    return {
        **nullable(integer(MIN_PER_S, MAX_PER_S)),
        "description": "Requests per second across every API process (bursts of"
        f" {BURST_SECONDS} times that); null: the server's default (STEVORA_RATE_LIMIT_PER_S).",
    }


def _workspace() -> dict[str, Any]:
    return record(
        {
            "id": id_of("ws"),
            "name": text(1, 100),
            "slug": {**text(1, 50), "pattern": f"^{SLUG.pattern}$"},
            "rateLimitPerS": rate_limit_per_s(),
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        }
    )


def _new_workspace() -> dict[str, Any]:
    first_key = record({"id": id_of("key"), "name": text(), "key": _raw_key()})
    workspace = _workspace()
    return {
        **workspace,
        "properties": {**workspace["properties"], "apiKey": first_key},
        "required": [*workspace["required"], "apiKey"],
    }


def _raw_key() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": "^stv_",
        "description": "The raw key: shown in this answer only, never again.",
    }


def component_schemas() -> dict[str, dict[str, Any]]:
    """`Workspace`, `ApiKey`, and the `New...` answers that show a raw key once."""
    return {
        "Workspace": _workspace(),
        "NewWorkspace": _new_workspace(),
        "ApiKey": record(
            {
                "id": id_of("key"),
                "workspaceId": id_of("ws"),
                "name": text(1, 100),
                "lastUsedAt": nullable(TIMESTAMP),
                "revokedAt": nullable(TIMESTAMP),
                "createdAt": TIMESTAMP,
            }
        ),
        "NewApiKey": record(
            {
                "id": id_of("key"),
                "workspaceId": id_of("ws"),
                "name": text(1, 100),
                "key": _raw_key(),
                "createdAt": TIMESTAMP,
            }
        ),
    }
