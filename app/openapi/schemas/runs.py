"""The schemas of workflow runs, their step runs and their events."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from models import statuses
from models.concurrency import QUEUED
from models.json_schema import ANY, OBJECT, integer, record, ref, text

#: The run events of SPEC section 4, in the order a run meets them.
RUN_EVENT_TYPES = (
    "WORKFLOW_STARTED",
    "STEP_STARTED",
    "STEP_COMPLETED",
    "STEP_FAILED",
    "STEP_RETRYING",
    "STEP_SKIPPED",
    "WORKFLOW_WAITING",
    "WORKFLOW_PAUSED",
    "WORKFLOW_UNPAUSED",
    "SIGNAL_RECEIVED",
    "APPROVAL_REQUESTED",
    "APPROVAL_DECIDED",
    "LLM_CALL_COMPLETED",
    "LLM_CALL_FAILED",
    "WORKFLOW_COMPLETED",
    "WORKFLOW_FAILED",
    "WORKFLOW_CANCELLED",
    "WORKFLOW_RETRIED",
)


def _run(with_step_runs: bool) -> dict[str, Any]:
    properties = {
        "id": id_of("wfrun"),
        "workspaceId": id_of("ws"),
        "definitionId": id_of("wfdef"),
        "definition": record({"name": text(1, 200), "version": text(1, 50)}),
        "status": {"enum": list(statuses.RUN_STATUSES)},
        "currentStepIndex": nullable(integer(0)),
        "currentStepName": nullable(text(1, 100)),
        "input": OBJECT,
        "state": OBJECT,
        "output": {"description": "The final state of a COMPLETED run; null before."},
        "error": nullable(ref("RunError")),
        "totalCostCents": {"type": "number", "minimum": 0},
        "startedAt": nullable(TIMESTAMP),
        "completedAt": nullable(TIMESTAMP),
        "failedAt": nullable(TIMESTAMP),
        "cancelledAt": nullable(TIMESTAMP),
        "nextRunAt": nullable(TIMESTAMP),
        "idempotencyKey": nullable(text(1, 255)),
        "scheduleId": {
            **nullable(id_of("sch")),
            "description": "The schedule whose fire started the run; null for other runs.",
        },
        "pausedReason": {
            **nullable({"enum": list(statuses.PAUSED_REASONS)}),
            "description": "Why a PAUSED run is held: an approval step, or a user's pause;"
            " null when the run is not PAUSED.",
        },
        "queuedReason": {
            **nullable({"enum": [QUEUED]}),
            "description": "Why a PENDING run has not started: concurrency (its definition's "
            "limit has no free slot); null otherwise.",
        },
        "version": {**integer(0), "description": "The optimistic-lock counter."},
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "rerunOf": {
            **nullable(id_of("wfrun")),
            "description": "The run this one reruns (POST .../rerun); null for any other run.",
        },
    }
    if with_step_runs:
        properties["stepRuns"] = {
            "type": "array",
            "items": ref("StepRun"),
            "maxItems": 1000,
            "description": "The latest 1,000 step runs at most, in order.",
        }
        properties["stepRunsTotal"] = {
            **integer(0),
            "description": "How many step runs the run has in all.",
        }
    return record(properties)


def _step_run() -> dict[str, Any]:
    return record(
        {
            "id": id_of("srun"),
            "stepIndex": integer(0),
            "stepName": text(1, 100),
            "stepType": text(),
            "status": {"enum": list(statuses.STEP_STATUSES)},
            "attempt": integer(1),
            "output": ANY,
            "error": nullable(ref("RunError")),
            "startedAt": nullable(TIMESTAMP),
            "completedAt": nullable(TIMESTAMP),
            "durationMs": nullable(integer(0)),
        }
    )


def _run_error() -> dict[str, Any]:
    # Written by workers; `details` is free-form, and the object stays open for them.
    return {
        "type": "object",
        "properties": {"code": text(), "message": {"type": "string"}, "details": OBJECT},
        "required": ["code", "message"],
    }


def _event() -> dict[str, Any]:
    return record(
        {
            "id": id_of("evt"),
            "workflowRunId": id_of("wfrun"),
            "stepRunId": nullable(id_of("srun")),
            "sequence": {
                **integer(1),
                "description": "1, 2, 3... within the run, without gaps: the run's one order.",
            },
            "eventType": {"enum": list(RUN_EVENT_TYPES)},
            "payload": ANY,
            "createdAt": TIMESTAMP,
        }
    )


def component_schemas() -> dict[str, dict[str, Any]]:
    """`WorkflowRun` and `WorkflowRunWithSteps`, `StepRun`, `RunError` and `RunEvent`."""
    return {
        "RunError": _run_error(),
        "WorkflowRun": _run(with_step_runs=False),
        "WorkflowRunWithSteps": _run(with_step_runs=True),
        "StepRun": _step_run(),
        "RunEvent": _event(),
    }
