"""The schema of a stored workflow definition (its steps are in `app.openapi.steps`)."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.json_schema import record, ref, text


def component_schemas() -> dict[str, dict[str, Any]]:
    """`WorkflowDefinition`."""
    return {
        "WorkflowDefinition": record(
            {
                "id": id_of("wfdef"),
                "workspaceId": id_of("ws"),
                "name": text(1, 200),
                "version": text(1, 50),
                "description": nullable(text(0, 1000)),
                "steps": {"type": "array", "items": ref("Step"), "minItems": 1},
                "createdAt": TIMESTAMP,
                "updatedAt": {
                    **TIMESTAMP,
                    "description": "Equal to createdAt: a definition never changes.",
                },
            }
        ),
    }
