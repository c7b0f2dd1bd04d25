"""The component schemas of the OpenAPI document: each resource exactly as the API writes it.

Answers are `additionalProperties: false` with every field required, so a field added to a
serializer and not here (or the reverse) fails `tests/test_openapi.py`. Free-form documents
(a run's input and state, event payloads) are `{}`: any JSON value. The builders are in
`app.openapi.builders`; `app.openapi.steps` still imports them from here.
"""

from __future__ import annotations

from typing import Any

from app.errors import CODES
from app.openapi.builders import (
    ANY,
    OBJECT,
    TIMESTAMP,
    id_of,
    integer,
    nullable,
    record,
    ref,
    text,
)
from app.resources.workspaces import SLUG
from models import statuses
from models.approvals import DECISIONS
from models.webhooks import ANNOUNCED, EVENT_NAMES
from models.webhooks import CANCELLED as DELIVERY_CANCELLED
from models.webhooks import FAILED as DELIVERY_FAILED
from models.webhooks import PENDING as DELIVERY_PENDING
from models.webhooks import SUCCEEDED as DELIVERY_SUCCEEDED

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


def success(data: dict[str, Any]) -> dict[str, Any]:
    """The success envelope of one resource."""
    return record({"success": {"const": True}, "data": data})


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    """The success envelope of one page of a list."""
    return record(
        {
            "success": {"const": True},
            "data": {"type": "array", "items": item},
            "meta": ref("ListMeta"),
        }
    )


def _error_envelope() -> dict[str, Any]:
    # `field` names the member as sent: an unknown member named "" is reported as "".
    field = record({"field": {"type": "string"}, "message": text()})
    details = {
        "type": "object",
        "description": "Optional. A validation error lists each bad field in `fields`.",
        "properties": {"fields": {"type": "array", "items": field, "minItems": 1}},
    }
    error = record(
        {"code": {"enum": sorted(set(CODES.values()))}, "message": text(), "details": details},
        optional=("details",),
    )
    return record({"success": {"const": False}, "error": error})


def _workspace() -> dict[str, Any]:
    return record(
        {
            "id": id_of("ws"),
            "name": text(1, 100),
            "slug": {**text(1, 50), "pattern": f"^{SLUG.pattern}$"},
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
        "version": {**integer(0), "description": "The optimistic-lock counter."},
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
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


def _approval_request() -> dict[str, Any]:
    return record(
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
            "createdAt": TIMESTAMP,
        }
    )


def _webhook(with_secret: bool) -> dict[str, Any]:
    properties = {
        "id": id_of("wh"),
        "url": text(1, 2048),
        "events": {"type": "array", "items": {"enum": list(EVENT_NAMES)}, "minItems": 1},
        "createdAt": TIMESTAMP,
        "deletedAt": nullable(TIMESTAMP),
    }
    if with_secret:
        properties["secret"] = {
            "type": "string",
            "pattern": "^whsec_",
            "description": "The HMAC-SHA256 key of `Stevora-Signature`: shown in this answer only.",
        }
    return record(properties)


def _webhook_delivery() -> dict[str, Any]:
    attempt = record(
        {
            "number": integer(1),
            "startedAt": TIMESTAMP,
            "statusCode": nullable(integer()),
            "error": nullable({"type": "string"}),
            "durationMs": nullable(integer(0)),
        }
    )
    states = [DELIVERY_PENDING, DELIVERY_SUCCEEDED, DELIVERY_FAILED, DELIVERY_CANCELLED]
    return record(
        {
            "id": id_of("whd"),
            "webhookId": id_of("wh"),
            "workflowRunId": id_of("wfrun"),
            "eventType": {"enum": list(ANNOUNCED.values())},
            "status": {"enum": states},
            "payload": {**OBJECT, "description": "The JSON body sent, as it is sent."},
            "nextAttemptAt": nullable(TIMESTAMP),
            "completedAt": nullable(TIMESTAMP),
            "createdAt": TIMESTAMP,
            "attempts": {"type": "array", "items": attempt},
        }
    )


def _llm_call() -> dict[str, Any]:
    return record(
        {
            "id": id_of("llm"),
            "stepRunId": id_of("srun"),
            "attempt": integer(1),
            "model": text(),
            "provider": text(),
            "inputTokens": integer(0),
            "outputTokens": integer(0),
            "costUsd": {"type": "number", "minimum": 0},
            "durationMs": integer(0),
            "outcome": {"enum": ["completed", "failed"]},
            "error": nullable(OBJECT),
            "createdAt": TIMESTAMP,
        }
    )


def _amounts(key: str, key_schema: dict[str, Any]) -> dict[str, Any]:
    return record(
        {
            key: key_schema,
            "costUsd": {"type": "number", "minimum": 0},
            "inputTokens": integer(0),
            "outputTokens": integer(0),
            "calls": integer(0),
        }
    )


def _run_cost() -> dict[str, Any]:
    return record(
        {
            "workflowRunId": id_of("wfrun"),
            "totalCostUsd": {"type": "number", "minimum": 0},
            "totalInputTokens": integer(0),
            "totalOutputTokens": integer(0),
            "calls": {"type": "array", "items": ref("LlmCall")},
        }
    )


def _cost_summary() -> dict[str, Any]:
    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    return record(
        {
            "from": TIMESTAMP,
            "to": TIMESTAMP,
            "totalCostUsd": {"type": "number", "minimum": 0},
            "totalInputTokens": integer(0),
            "totalOutputTokens": integer(0),
            "calls": integer(0),
            "byModel": {"type": "array", "items": _amounts("model", text())},
            "byDay": {"type": "array", "items": _amounts("day", day)},
        }
    )


def _health() -> dict[str, Any]:
    check = {"type": "string", "description": "`ok`, or `error: <kind>`."}
    return record(
        {
            "status": {"enum": ["ok", "degraded"]},
            "checks": record({"database": check, "queue": check}),
        }
    )


def resource_schemas() -> dict[str, dict[str, Any]]:
    """The schemas of what the API answers, by component name."""
    return {
        "ErrorEnvelope": _error_envelope(),
        "ListMeta": record(
            {
                "page": integer(1),
                "pageSize": integer(1, 100),
                "total": integer(0),
                "totalPages": integer(0),
            }
        ),
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
        "WorkflowDefinition": record(
            {
                "id": id_of("wfdef"),
                "workspaceId": id_of("ws"),
                "name": text(1, 200),
                "version": text(1, 50),
                "description": nullable(text(0, 1000)),
                "steps": {"type": "array", "items": ref("Step"), "minItems": 1},
                "createdAt": TIMESTAMP,
            }
        ),
        "RunError": _run_error(),
        "WorkflowRun": _run(with_step_runs=False),
        "WorkflowRunWithSteps": _run(with_step_runs=True),
        "StepRun": _step_run(),
        "RunEvent": _event(),
        "ApprovalRequest": _approval_request(),
        "Webhook": _webhook(with_secret=False),
        "NewWebhook": _webhook(with_secret=True),
        "WebhookDelivery": _webhook_delivery(),
        "LlmCall": _llm_call(),
        "RunCost": _run_cost(),
        "CostSummary": _cost_summary(),
        "Health": _health(),
    }
