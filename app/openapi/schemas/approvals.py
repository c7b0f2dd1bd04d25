"""The schema of an approval request."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.approvals import DECISIONS
from models.json_schema import ANY, record, text


def component_schemas() -> dict[str, dict[str, Any]]:
    """`ApprovalRequest`."""
    return {
        "ApprovalRequest": record(
            {
                "id": id_of("apr"),
                "workflowRunId": id_of("wfrun"),
                "stepRunId": id_of("srun"),
                "stepName": text(1, 100),
                "contentKey": text(),
                "content": {"description": "A snapshot of state[contentKey] when the step asked."},
                "prompt": nullable({"type": "string"}),
                "decision": nullable({"enum": list(DECISIONS)}),
                "decidedBy": nullable(text(1, 200)),
                "decidedAt": nullable(TIMESTAMP),
                "editedContent": ANY,
                "expiresAt": nullable(TIMESTAMP),
                "closedAt": {
                    **nullable(TIMESTAMP),
                    "description": "When the run stopped waiting on this request without a "
                    "decision (cancelled, or the step failed: a timeout); null while pending "
                    "and once decided.",
                },
                "createdAt": TIMESTAMP,
            }
        ),
    }
