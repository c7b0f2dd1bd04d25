"""The wire format: camelCase fields, string ids, ISO-8601 UTC timestamps with milliseconds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from models.approvals import ApprovalRequest
from models.base import iso_utc
from models.definitions import WorkflowDefinition
from models.llm_calls import LlmCall
from models.runs import RunEvent, StepRun, WorkflowRun
from models.schedules import Schedule
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from models.workspaces import ApiKey, Workspace

#: Every timestamp on the wire.
timestamp = iso_utc


def cents(value: Decimal | int | None) -> float | int:
    """A cost in cents as a JSON number: an integer when whole, else a float."""
    if value is None:
        return 0
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def workspace(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "name": ws.name,
        "slug": ws.slug,
        "rateLimitPerS": ws.rate_limit_per_s,
        "createdAt": timestamp(ws.created_at),
        "updatedAt": timestamp(ws.updated_at),
    }


def api_key(key: ApiKey) -> dict[str, Any]:
    """A key as listed: never the raw key, never its hash."""
    return {
        "id": key.id,
        "workspaceId": key.workspace_id,
        "name": key.name,
        "lastUsedAt": timestamp(key.last_used_at),
        "revokedAt": timestamp(key.revoked_at),
        "createdAt": timestamp(key.created_at),
    }


def new_api_key(key: ApiKey, raw_key: str) -> dict[str, Any]:
    """A key just issued: the only time its raw text is shown."""
    return {
        "id": key.id,
        "workspaceId": key.workspace_id,
        "name": key.name,
        "key": raw_key,
        "createdAt": timestamp(key.created_at),
    }


def definition(d: WorkflowDefinition) -> dict[str, Any]:
    """A definition; immutable, so its `updatedAt` is its `createdAt` (SPEC section 14)."""
    created_at = timestamp(d.created_at)
    return {
        "id": d.id,
        "workspaceId": d.workspace_id,
        "name": d.name,
        "version": d.version,
        "description": d.description,
        "steps": d.steps,
        "concurrency": d.concurrency,
        "createdAt": created_at,
        "updatedAt": created_at,
    }


def run(r: WorkflowRun) -> dict[str, Any]:
    """A run; `r.definition` must be loaded with it (a join), not fetched per row."""
    return {
        "id": r.id,
        "workspaceId": r.workspace_id,
        "definitionId": r.definition_id,
        "definition": {"name": r.definition.name, "version": r.definition.version},
        "status": r.status,
        "currentStepIndex": r.current_step_index,
        "currentStepName": r.current_step_name,
        "input": r.input,
        "state": r.state,
        "output": r.output,
        "error": r.error,
        "totalCostCents": cents(r.total_cost_cents),
        "startedAt": timestamp(r.started_at),
        "completedAt": timestamp(r.completed_at),
        "failedAt": timestamp(r.failed_at),
        "cancelledAt": timestamp(r.cancelled_at),
        "nextRunAt": timestamp(r.next_run_at),
        "idempotencyKey": r.idempotency_key,
        "scheduleId": r.schedule_id,
        "pausedReason": r.paused_reason,
        "queuedReason": r.queued_reason,
        "version": r.version,
        "createdAt": timestamp(r.created_at),
        "updatedAt": timestamp(r.updated_at),
        "rerunOf": r.rerun_of,
    }


def step_run(s: StepRun) -> dict[str, Any]:
    return {
        "id": s.id,
        "stepIndex": s.step_index,
        "stepName": s.step_name,
        "stepType": s.step_type,
        "status": s.status,
        "attempt": s.attempt,
        "output": s.output,
        "error": s.error,
        "startedAt": timestamp(s.started_at),
        "completedAt": timestamp(s.completed_at),
        "durationMs": s.duration_ms,
    }


def event(e: RunEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "workflowRunId": e.run_id,
        "stepRunId": e.step_run_id,
        "sequence": e.sequence,
        "eventType": e.event_type,
        "payload": e.payload,
        "createdAt": timestamp(e.created_at),
    }


def approval_request(a: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": a.id,
        "workflowRunId": a.run_id,
        "stepRunId": a.step_run_id,
        "stepName": a.step_name,
        "contentKey": a.content_key,
        "content": a.content,
        "prompt": a.prompt,
        "decision": a.decision,
        "decidedBy": a.decided_by,
        "decidedAt": timestamp(a.decided_at),
        "editedContent": a.edited_content,
        "expiresAt": timestamp(a.expires_at),
        "closedAt": timestamp(a.closed_at),
        "createdAt": timestamp(a.created_at),
    }


def usd(value: Decimal | int | float | None) -> float:
    """An amount in USD as a JSON number."""
    return float(value or 0)


def llm_call(c: LlmCall) -> dict[str, Any]:
    """A call; `c.step_run` must be loaded with it (a join, `calls_of_run`) for its name."""
    return {
        "id": c.id,
        "stepRunId": c.step_run_id,
        "stepName": c.step_run.step_name,
        "attempt": c.attempt,
        "model": c.model,
        "provider": c.provider,
        "inputTokens": c.input_tokens,
        "outputTokens": c.output_tokens,
        "costUsd": usd(c.cost_usd),
        "durationMs": c.duration_ms,
        "outcome": c.outcome,
        "error": c.error,
        "createdAt": timestamp(c.created_at),
    }


def webhook(w: Webhook) -> dict[str, Any]:
    """A webhook as listed: never its secret. It is active until it is deleted."""
    return {
        "id": w.id,
        "workspaceId": w.workspace_id,
        "url": w.url,
        "events": w.events,
        "isActive": w.deleted_at is None,
        "createdAt": timestamp(w.created_at),
    }


def webhook_delivery(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhookId": d.webhook_id,
        "workflowRunId": d.run_id,
        "eventType": d.event_type,
        "status": d.status,
        "payload": json.loads(d.body),
        "nextAttemptAt": timestamp(d.next_attempt_at),
        "completedAt": timestamp(d.completed_at),
        "createdAt": timestamp(d.created_at),
    }


def webhook_attempt(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "startedAt": timestamp(a.started_at),
        "statusCode": a.status_code,
        "error": a.error,
        "durationMs": a.duration_ms,
    }


def schedule(s: Schedule) -> dict[str, Any]:
    """A schedule; `nextFireAt` is null while it is paused (and once it is deleted)."""
    return {
        "id": s.id,
        "workspaceId": s.workspace_id,
        "definitionId": s.definition_id,
        "cron": s.cron,
        "intervalMs": s.interval_ms,
        "timezone": s.timezone,
        "input": s.input,
        "overlap": s.overlap,
        "paused": s.paused,
        "nextFireAt": None if s.paused else timestamp(s.next_fire_at),
        "lastRunId": s.last_run_id,
        "createdAt": timestamp(s.created_at),
        "updatedAt": timestamp(s.updated_at),
        "deletedAt": timestamp(s.deleted_at),
    }
