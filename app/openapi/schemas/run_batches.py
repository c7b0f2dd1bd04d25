"""The bodies and answers of batch create and of bulk cancel and retry."""

from __future__ import annotations

from typing import Any

from app.resources.run_batches import MAX_BATCH
from app.resources.run_bulk import MAX_IDS
from models import statuses
from models.base import MOMENT
from models.json_schema import integer, record, ref, text


def component_schemas() -> dict[str, dict[str, Any]]:
    """`CreateWorkflowRunBatch`, `BulkRunFilter` and `BulkResult`."""
    item = {
        "description": "As one create: a repeated idempotency key gives the run that has it.",
        **record(
            {
                "definitionId": text(1),
                "input": {"type": "object", "default": {}},
                "idempotencyKey": text(1, 255),
            },
            optional=("input", "idempotencyKey"),
        ),
    }
    bulk_filter = record(
        {
            "ids": {"type": "array", "items": text(1), "minItems": 1, "maxItems": MAX_IDS},
            "status": {"enum": list(statuses.RUN_STATUSES)},
            "definitionId": {**text(1, 100), "description": "Another id's format matches none."},
            "createdBefore": {"type": "string", "pattern": f"^{MOMENT.pattern}$"},
        },
        optional=("ids", "status", "definitionId", "createdBefore"),
    )
    bulk_filter["description"] = "Every filter given must match; give at least one."
    bulk_filter["minProperties"] = 1
    return {
        "CreateWorkflowRunBatch": record(
            {"runs": {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH}}
        ),
        "BulkRunFilter": bulk_filter,
        "BulkResult": record(
            {
                "matched": {**integer(0), "description": "Runs the filter matched."},
                "changed": {**integer(0), "description": "Those the operation moved."},
            }
        ),
        "WorkflowRunBatch": record(
            {"success": {"const": True}, "data": {"type": "array", "items": ref("WorkflowRun")}}
        ),
    }
