"""The paths of workspaces and their API keys."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED, STORED
from app.openapi.parameters import PAGE, PAGE_SIZE, path_id
from app.openapi.paths.operation import json_answer, one, operation, page
from app.pagination import WHOLE_LIST_LIMIT


def path_items() -> dict[str, dict[str, Any]]:
    """Creating and changing a workspace (admin token), reading the caller's, and its keys."""
    return {
        "/v1/workspaces": {
            "post": operation(
                "createWorkspace",
                "Create a workspace and its first API key (admin token).",
                "Workspaces",
                {201: json_answer(one("NewWorkspace"), "The workspace; its key is shown once.")},
                (400, 401, 409, *STORED),
                body="CreateWorkspace",
                security=[{"adminToken": []}],
            )
        },
        "/v1/workspaces/{workspace_id}": {
            "patch": operation(
                "updateWorkspace",
                "Set a workspace's own rate limit, or null for the default (admin token).",
                "Workspaces",
                {200: json_answer(one("Workspace"), "The workspace as changed.")},
                (400, 401, 404, *STORED),
                parameters=(path_id("workspace_id", "ws", "workspace"),),
                body="UpdateWorkspace",
                security=[{"adminToken": []}],
            )
        },
        "/v1/workspaces/current": {
            "get": operation(
                "getCurrentWorkspace",
                "The caller's workspace.",
                "Workspaces",
                {200: json_answer(one("Workspace"), "The workspace.")},
                KEYED,
            )
        },
        "/v1/api-keys": {
            "post": operation(
                "createApiKey",
                "Issue another key of this workspace.",
                "API keys",
                {201: json_answer(one("NewApiKey"), "The key; its raw text is shown once.")},
                (400, *KEYED),
                body="CreateApiKey",
            ),
            "get": operation(
                "listApiKeys",
                "The workspace's keys, newest first; never the raw key. With neither page nor "
                f"pageSize, all of them (at most {WHOLE_LIST_LIMIT}; meta.total counts all).",
                "API keys",
                {200: json_answer(page("ApiKey"), "A page of keys.")},
                (400, *KEYED),
                parameters=(PAGE, PAGE_SIZE),
            ),
        },
        "/v1/api-keys/{key_id}": {
            "delete": operation(
                "revokeApiKey",
                "Revoke a key (idempotent); it is 401 from then on.",
                "API keys",
                {200: json_answer(one("ApiKey"), "The key record, revokedAt set.")},
                (404, *KEYED),
                parameters=(path_id("key_id", "key", "API key"),),
            )
        },
    }
