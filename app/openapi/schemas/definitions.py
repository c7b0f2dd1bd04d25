"""The schema of a stored workflow definition (its steps are in `app.openapi.steps`)."""

from __future__ import annotations

from typing import Any

from app.definition_rules import MAX_CONCURRENCY, MAX_KEY_TEMPLATE
from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.json_schema import integer, record, ref, text


def concurrency() -> dict[str, Any]:
    """A definition's concurrency limit (SPEC section 9)."""
    return {
        **record(
            {
                "limit": integer(1, MAX_CONCURRENCY),
                "key": {
                    **text(1, MAX_KEY_TEMPLATE),
                    "description": 'A template over the input, e.g. "{{input.customerId}}": '
                    "the limit holds per value.",
                },
            },
            optional=("key",),
        ),
        "description": "At most `limit` runs of the definition (per key value, with `key`) are "
        "started and not final at once; the others stay PENDING, queuedReason concurrency, "
        "and start in creation order.",
    }


def component_schemas() -> dict[str, dict[str, Any]]:
    """`WorkflowDefinition` and `Concurrency`."""
    return {
        "Concurrency": concurrency(),
        "WorkflowDefinition": record(
            {
                "id": id_of("wfdef"),
                "workspaceId": id_of("ws"),
                "name": text(1, 200),
                "version": text(1, 50),
                "description": nullable(text(0, 1000)),
                "steps": {"type": "array", "items": ref("Step"), "minItems": 1},
                "concurrency": nullable(ref("Concurrency")),
                "createdAt": TIMESTAMP,
                "updatedAt": {
                    **TIMESTAMP,
                    "description": "Equal to createdAt: a definition never changes.",
                },
            }
        ),
    }
