"""The OpenAPI 3.1 document of the whole API, served at `GET /v1/openapi.json`.

Built from the same constants the resources check against (statuses, limits, step fields);
`tests/test_openapi.py` keeps it true to the router and to real answers, and schemathesis
checks the running API against it.
"""

from __future__ import annotations

from typing import Any

from app.openapi.errors import responses
from app.openapi.parameters import parameters
from app.openapi.paths import paths
from app.openapi.requests import request_schemas
from app.openapi.schemas import resource_schemas
from app.openapi.steps import step_schemas

#: Where the document is served.
OPENAPI_PATH = "/v1/openapi.json"

_DESCRIPTION = """\
A self-hosted durable workflow engine: runs that survive crashes, wait for signals and
approvals, and retry what fails.

- Every `/v1` call takes an API key in the `x-api-key` header, except creating a workspace
  (the `x-admin-token` header) and this document. Another workspace's resource is 404.
- JSON in and out, camelCase fields. Success is `{"success": true, "data": ...}`; lists add
  `meta`. An error is `{"success": false, "error": {"code", "message", "details"?}}`.
- Timestamps are ISO-8601 UTC with milliseconds and `Z`. Ids are a type prefix and a
  lowercase ULID (`wfrun_01jd...`); a malformed id is 404.
- Each workspace may make so many requests a second across every API process, in bursts of
  twice that: its own `rateLimitPerS`, else the server's (100 unless configured). Beyond it a
  call is 429 RATE_LIMIT_ERROR, with a `Retry-After` header in whole seconds.
- A path no route matches is 404 NOT_FOUND; a method a route does not serve is 405
  METHOD_NOT_ALLOWED. Both answer with the error envelope.
"""


def build_document() -> dict[str, Any]:
    """The document, as a JSON-ready dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Stevora API",
            "version": "1",
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "security": [{"apiKey": []}],
        "tags": [
            {"name": name}
            for name in (
                "Workspaces",
                "API keys",
                "Workflow definitions",
                "Workflow runs",
                "Approvals",
                "Costs",
                "Webhooks",
                "Schedules",
                "Service",
            )
        ],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "adminToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-admin-token",
                    "description": "Equal to ADMIN_TOKEN; with it unset, creating is disabled.",
                },
            },
            "parameters": parameters(),
            "responses": responses(),
            "schemas": {**resource_schemas(), **step_schemas(), **request_schemas()},
        },
    }
