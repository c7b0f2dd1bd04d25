"""The errors of the OpenAPI document: one reusable response per status, and the statuses
every operation of a kind can answer whatever its resource does.
"""

from __future__ import annotations

from typing import Any

from app.errors import CODES
from app.gunicorn_config import limit_request_line as MAX_REQUEST_LINE
from app.media import MAX_BODY_BYTES
from models.json_schema import ref

#: The component response of each error status: its envelope has that status's code.
ERROR_RESPONSES = {
    400: ("ValidationError", "Bad JSON, a missing or invalid field or query parameter."),
    401: ("AuthError", "A missing, unknown or revoked key, or a wrong admin token."),
    404: ("NotFound", "No such resource in this workspace (a malformed id included)."),
    409: ("Conflict", "The resource is not in a state that allows the call, or a duplicate."),
    413: ("PayloadTooLarge", f"A body over {MAX_BODY_BYTES} bytes, or a document over the limit."),
    414: ("UriTooLong", f"A request line (method, path and query) over {MAX_REQUEST_LINE} bytes."),
    415: ("UnsupportedMediaType", "A request body that is not `application/json`."),
    429: ("RateLimitError", "The workspace is over its request rate; see `Retry-After`."),
    500: ("InternalError", "A bug; never a stack trace."),
    503: ("ServiceUnavailable", "The database is unreachable; try again shortly."),
}

#: What any request can meet: a request line over the HTTP server's limit, a body (even on a
#: GET) checked before routing, and a bug.
EVERY = (413, 414, 415, 500)
#: What every request that reads the database can meet.
STORED = (*EVERY, 503)
#: ... and that needs an API key (and so counts against the workspace's rate limit).
KEYED = (401, 429, *STORED)

#: The header of every 429.
RETRY_AFTER = {
    "description": "Whole seconds, at least 1, until the workspace's bucket holds a token again.",
    "schema": {"type": "integer", "minimum": 1},
}


def responses() -> dict[str, dict[str, Any]]:
    """The reusable error responses, one per status, each pinning its code."""
    answers = {
        name: {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            ref("ErrorEnvelope"),
                            {
                                "properties": {
                                    "error": {"properties": {"code": {"const": CODES[status]}}}
                                }
                            },
                        ]
                    }
                }
            },
        }
        for status, (name, description) in ERROR_RESPONSES.items()
        if status != 414
    }
    answers[ERROR_RESPONSES[429][0]]["headers"] = {"Retry-After": RETRY_AFTER}
    # The HTTP server answers this one itself, before the API sees the request: no envelope.
    name, description = ERROR_RESPONSES[414]
    answers[name] = {
        "description": f"{description} Answered by the HTTP server (gunicorn), in HTML.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return answers
