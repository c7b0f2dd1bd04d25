"""The paths of the OpenAPI document: every route, method, parameter, body and answer.

Path templates are Falcon's own (`/v1/workflow-runs/{run_id}`), so the test matches them to
the router as they are. Each operation lists every status it can answer: its successes, the
errors its resource raises, and those every request can meet (a body that is too large or not
JSON, a bug, the database down).
"""

from __future__ import annotations

from typing import Any

from app.openapi.builders import OBJECT, id_of, ref, text
from app.openapi.errors import ERROR_RESPONSES, EVERY, KEYED, STORED
from app.openapi.parameters import PAGE, PAGE_SIZE, RUN_ID, path_id, query
from app.openapi.schemas.envelopes import page_of, success
from app.resources.costs import DEFAULT_SUMMARY_DAYS
from models import statuses


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _one(name: str) -> dict[str, Any]:
    return success(ref(name))


def _page(name: str) -> dict[str, Any]:
    return page_of(ref(name))


def _operation(
    operation_id: str,
    summary: str,
    tag: str,
    answers: dict[int, dict[str, Any]],
    errors: tuple[int, ...],
    *,
    parameters: tuple[dict[str, Any], ...] = (),
    body: str | None = None,
    body_required: bool = True,
    security: list[dict[str, list]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
        }
    if security is not None:
        operation["security"] = security
    answered = {str(status): answer for status, answer in answers.items()}
    for status in sorted(errors):
        answered[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    operation["responses"] = answered
    return operation


def paths() -> dict[str, dict[str, Any]]:
    request_id = path_id("request_id", "apr", "approval request")
    webhook_id = path_id("webhook_id", "wh", "webhook")
    return {
        "/health": {
            "get": _operation(
                "getHealth",
                "Can this process reach the database and the broker? No envelope.",
                "Service",
                {
                    200: _json(ref("Health"), "Both reachable."),
                    503: _json(ref("Health"), "One of them is not."),
                },
                EVERY,
                security=[],
            )
        },
        "/v1/openapi.json": {
            "get": _operation(
                "getOpenApiDocument",
                "This document. No envelope, no key.",
                "Service",
                {200: _json(OBJECT, "The OpenAPI 3.1 document of this API.")},
                EVERY,
                security=[],
            )
        },
        "/v1/workspaces": {
            "post": _operation(
                "createWorkspace",
                "Create a workspace and its first API key (admin token).",
                "Workspaces",
                {201: _json(_one("NewWorkspace"), "The workspace; its key is shown once.")},
                (400, 401, 409, *STORED),
                body="CreateWorkspace",
                security=[{"adminToken": []}],
            )
        },
        "/v1/workspaces/current": {
            "get": _operation(
                "getCurrentWorkspace",
                "The caller's workspace.",
                "Workspaces",
                {200: _json(_one("Workspace"), "The workspace.")},
                KEYED,
            )
        },
        "/v1/api-keys": {
            "post": _operation(
                "createApiKey",
                "Issue another key of this workspace.",
                "API keys",
                {201: _json(_one("NewApiKey"), "The key; its raw text is shown once.")},
                (400, *KEYED),
                body="CreateApiKey",
            ),
            "get": _operation(
                "listApiKeys",
                "The workspace's keys, newest first; never the raw key.",
                "API keys",
                {200: _json(_page("ApiKey"), "A page of keys.")},
                (400, *KEYED),
                parameters=(PAGE, PAGE_SIZE),
            ),
        },
        "/v1/api-keys/{key_id}": {
            "delete": _operation(
                "revokeApiKey",
                "Revoke a key (idempotent); it is 401 from then on.",
                "API keys",
                {200: _json(_one("ApiKey"), "The key record, revokedAt set.")},
                (404, *KEYED),
                parameters=(path_id("key_id", "key", "API key"),),
            )
        },
        "/v1/workflow-definitions": {
            "post": _operation(
                "createWorkflowDefinition",
                "Store an immutable definition; 409 for a name and version stored already.",
                "Workflow definitions",
                {201: _json(_one("WorkflowDefinition"), "The definition.")},
                (400, 409, *KEYED),
                body="CreateWorkflowDefinition",
            ),
            "get": _operation(
                "listWorkflowDefinitions",
                "The workspace's definitions, newest first.",
                "Workflow definitions",
                {200: _json(_page("WorkflowDefinition"), "A page of definitions.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query(
                        "name",
                        {**text(1, 200), "pattern": "^[^\\u0000]*$"},
                        "Only definitions of this exact name (no NUL: PostgreSQL cannot hold it).",
                    ),
                ),
            ),
        },
        "/v1/workflow-definitions/{definition_id}": {
            "get": _operation(
                "getWorkflowDefinition",
                "One definition.",
                "Workflow definitions",
                {200: _json(_one("WorkflowDefinition"), "The definition.")},
                (404, *KEYED),
                parameters=(path_id("definition_id", "wfdef", "workflow definition"),),
            )
        },
        "/v1/workflow-runs": {
            "post": _operation(
                "createWorkflowRun",
                "Start a run of a definition; idempotent with idempotencyKey.",
                "Workflow runs",
                {
                    201: _json(_one("WorkflowRun"), "A new run, PENDING."),
                    200: _json(_one("WorkflowRun"), "The run created before with this key."),
                },
                (400, 404, *KEYED),
                body="CreateWorkflowRun",
            ),
            "get": _operation(
                "listWorkflowRuns",
                "The workspace's runs, newest first.",
                "Workflow runs",
                {200: _json(_page("WorkflowRun"), "A page of runs.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query("status", {"enum": list(statuses.RUN_STATUSES)}, "Only this status."),
                    query("definitionId", id_of("wfdef"), "Only runs of this definition."),
                ),
            ),
        },
        "/v1/workflow-runs/{run_id}": {
            "get": _operation(
                "getWorkflowRun",
                "One run, with its step runs in order.",
                "Workflow runs",
                {200: _json(_one("WorkflowRunWithSteps"), "The run.")},
                (404, *KEYED),
                parameters=(RUN_ID,),
            )
        },
        "/v1/workflow-runs/{run_id}/events": {
            "get": _operation(
                "listRunEvents",
                "The run's events, oldest first.",
                "Workflow runs",
                {200: _json(_page("RunEvent"), "A page of events.")},
                (400, 404, *KEYED),
                parameters=(RUN_ID, PAGE, PAGE_SIZE),
            )
        },
        "/v1/workflow-runs/{run_id}/cost": {
            "get": _operation(
                "getRunCost",
                "What the run's model calls cost, each call oldest first.",
                "Costs",
                {200: _json(_one("RunCost"), "The run's costs.")},
                (404, *KEYED),
                parameters=(RUN_ID,),
            )
        },
        "/v1/workflow-runs/{run_id}/cancel": {
            "post": _operation(
                "cancelWorkflowRun",
                "Cancel a PENDING, RUNNING, WAITING or PAUSED run.",
                "Workflow runs",
                {200: _json(_one("WorkflowRun"), "The run, CANCELLED.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/workflow-runs/{run_id}/resume": {
            "post": _operation(
                "resumeWorkflowRun",
                "Signal a run WAITING for this signal type; 409 when it is not.",
                "Workflow runs",
                {200: _json(_one("WorkflowRun"), "The run, RUNNING.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="ResumeWorkflowRun",
            )
        },
        "/v1/workflow-runs/{run_id}/retry": {
            "post": _operation(
                "retryWorkflowRun",
                "Run a FAILED run again from the failed step, its state kept.",
                "Workflow runs",
                {200: _json(_one("WorkflowRun"), "The run, RUNNING.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/cost/summary": {
            "get": _operation(
                "getCostSummary",
                "The workspace's model calls in [from, to): totals, per model, per UTC day.",
                "Costs",
                {200: _json(_one("CostSummary"), "The summary.")},
                (400, *KEYED),
                parameters=(
                    query(
                        "from",
                        _moment(),
                        f"Default: {DEFAULT_SUMMARY_DAYS} days before `to`. Must be before `to`.",
                    ),
                    query("to", _moment(), "Default: now. A date includes that whole day."),
                ),
            )
        },
        "/v1/approval-requests": {
            "get": _operation(
                "listApprovalRequests",
                "The workspace's approval requests, newest first.",
                "Approvals",
                {200: _json(_page("ApprovalRequest"), "A page of approval requests.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query(
                        "pending",
                        {"type": "boolean"},
                        "true: undecided, the run still paused there; false: decided.",
                    ),
                ),
            )
        },
        "/v1/approval-requests/{request_id}": {
            "get": _operation(
                "getApprovalRequest",
                "One approval request.",
                "Approvals",
                {200: _json(_one("ApprovalRequest"), "The approval request.")},
                (404, *KEYED),
                parameters=(request_id,),
            )
        },
        "/v1/approval-requests/{request_id}/decide": {
            "post": _operation(
                "decideApprovalRequest",
                "Decide; 409 when decided already or the run moved on.",
                "Approvals",
                {200: _json(_one("ApprovalRequest"), "The approval request, decided.")},
                (400, 404, 409, *KEYED),
                parameters=(request_id,),
                body="Decision",
            )
        },
        "/v1/webhooks": {
            "post": _operation(
                "createWebhook",
                "Subscribe a URL to events; the signing secret is shown once. 409 when the"
                " workspace has 20 webhooks already.",
                "Webhooks",
                {201: _json(_one("NewWebhook"), "The webhook, with its secret.")},
                (400, 409, *KEYED),
                body="CreateWebhook",
            ),
            "get": _operation(
                "listWebhooks",
                "The workspace's webhooks, newest first; deleted ones are not listed.",
                "Webhooks",
                {200: _json(_page("Webhook"), "A page of webhooks.")},
                (400, *KEYED),
                parameters=(PAGE, PAGE_SIZE),
            ),
        },
        "/v1/webhooks/{webhook_id}": {
            "get": _operation(
                "getWebhook",
                "One webhook, without its secret.",
                "Webhooks",
                {200: _json(_one("Webhook"), "The webhook.")},
                (404, *KEYED),
                parameters=(webhook_id,),
            ),
            "delete": _operation(
                "deleteWebhook",
                "Delete a webhook; its pending deliveries are cancelled. 404 from then on.",
                "Webhooks",
                {200: _json(_one("Webhook"), "The webhook, deletedAt set.")},
                (404, *KEYED),
                parameters=(webhook_id,),
            ),
        },
        "/v1/webhooks/{webhook_id}/deliveries": {
            "get": _operation(
                "listWebhookDeliveries",
                "The webhook's deliveries, newest first, each with its attempts.",
                "Webhooks",
                {200: _json(_page("WebhookDelivery"), "A page of deliveries.")},
                (400, 404, *KEYED),
                parameters=(webhook_id, PAGE, PAGE_SIZE),
            )
        },
    }


def _moment() -> dict[str, Any]:
    return {
        "type": "string",
        "anyOf": [{"format": "date"}, {"format": "date-time"}],
        "description": "An ISO-8601 date or timestamp (UTC when it names no zone).",
    }
