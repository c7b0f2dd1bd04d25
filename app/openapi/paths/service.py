"""The paths of the service itself: its health and this document."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import EVERY
from app.openapi.paths.operation import json_answer, operation
from models.json_schema import OBJECT, ref


def path_items() -> dict[str, dict[str, Any]]:
    """`/health` and `/v1/openapi.json`: no envelope, no key."""
    return {
        "/health": {
            "get": operation(
                "getHealth",
                "Can this process reach the database and the broker? No envelope.",
                "Service",
                {
                    200: json_answer(ref("Health"), "Both reachable."),
                    503: json_answer(ref("Health"), "One of them is not."),
                },
                EVERY,
                security=[],
            )
        },
        "/v1/openapi.json": {
            "get": operation(
                "getOpenApiDocument",
                "This document. No envelope, no key.",
                "Service",
                {200: json_answer(OBJECT, "The OpenAPI 3.1 document of this API.")},
                EVERY,
                security=[],
            )
        },
    }
