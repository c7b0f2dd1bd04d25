"""The OpenAPI document (`GET /v1/openapi.json`) kept true: to the router, to the OpenAPI 3.1
specification, to the fields the definition rules accept, and to what the API really answers.

`tests/test_openapi_fuzz.py` fuzzes the running API against the same document.
"""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from actors.llm import guardrails
from actors.steps import step_types
from actors.steps.retry import RETRY_POLICY
from actors.steps.step_type import COMMON_FIELDS
from app.auth import Access
from app.factory import create_app
from app.media import MAX_BODY_BYTES
from app.openapi import OPENAPI_PATH, build_document
from app.openapi.builders import id_of
from models.base import utcnow
from models.config import current
from models.documents import MAX_DOCUMENT_BYTES
from models.ids import new_id
from models.llm_calls import LlmCall
from models.runs import StepRun
from models.schedules import Schedule, fire_due_schedules
from models.webhooks import WebhookAttempt, WebhookDelivery
from tests import run_states
from tests.api_support import api_routes, definition_body, task_step
from tests.conftest import ADMIN_TOKEN

DOCUMENT = build_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
ROUTES = api_routes(create_app(current()))

#: The document as a JSON Schema resource, so that a `$ref` into it resolves its own refs.
_URI = "urn:stevora:openapi"
_REGISTRY = Registry().with_resource(_URI, Resource(DOCUMENT, specification=DRAFT202012))

#: A public address, so the webhook is accepted without resolving a name (nothing is sent:
#: no clock runs in these tests).
WEBHOOK = {"url": "https://93.184.215.14/hooks", "events": ["workflow.completed"]}


def _operations() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item}


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _resolved(item: dict[str, Any]) -> dict[str, Any]:
    """A response or parameter object, following its `$ref` into the components."""
    while "$ref" in item:
        *_, section, name = item["$ref"].split("/")
        item = DOCUMENT["components"][section][name]
    return item


def problems_with(method: str, template: str, status: int, content_type: str, body: Any) -> list:
    """How an answer strays from the document: an undocumented status or content type, or a
    body that breaks the schema; [] when it keeps to it."""
    responses = DOCUMENT["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        return [f"{method} {template}: status {status} is not documented"]
    content = _resolved(responses[str(status)])["content"]
    media = (content_type or "").split(";")[0].strip()
    if media not in content:
        return [f"{method} {template} {status}: content type {content_type!r} not documented"]
    response = responses[str(status)]
    if "$ref" in response:
        where = _pointer("components", "responses", response["$ref"].split("/")[-1])
    else:
        where = _pointer("paths", template, method.lower(), "responses", str(status))
    return _violations(where + _pointer("content", media, "schema"), body)


def _violations(pointer: str, instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{_URI}#{pointer}"},
        registry=_REGISTRY,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{pointer} at {error.json_path}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


# The document and the router.


def test_every_route_and_method_of_the_router_is_documented_and_nothing_else():
    served = {(route.method, route.template) for route in ROUTES}
    assert served - _operations() == set(), "served but not documented"
    assert _operations() - served == set(), "documented but not served"


def test_each_operation_names_the_credential_its_resource_checks():
    wanted = {
        Access.PUBLIC: [],
        Access.ADMIN: [{"adminToken": []}],
        Access.API_KEY: [{"apiKey": []}],
    }
    for route in ROUTES:
        operation = DOCUMENT["paths"][route.template][route.method.lower()]
        assert operation.get("security", DOCUMENT["security"]) == wanted[route.access], route
        assert ("401" in operation["responses"]) is (route.access is not Access.PUBLIC), route


#: The id type each path parameter names.
PATH_IDS = {
    "workspace_id": "ws",
    "key_id": "key",
    "definition_id": "wfdef",
    "run_id": "wfrun",
    "request_id": "apr",
    "webhook_id": "wh",
    "schedule_id": "sch",
}


def test_each_path_parameter_is_an_id_of_its_type_and_may_be_404():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            declared = {p["name"]: p for p in map(_resolved, operation.get("parameters", ()))}
            for name in re.findall(r"{(\w+)}", path):
                assert declared[name]["in"] == "path" and declared[name]["required"], (path, name)
                assert declared[name]["schema"] == id_of(PATH_IDS[name]), (path, name)
                assert "404" in operation["responses"], (method, path)


def test_every_step_type_has_its_schema_with_exactly_its_fields():
    kinds = step_types()
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in SCHEMAS["Step"]["oneOf"]] == [
        kind.schema_name for kind in kinds
    ]
    for kind in kinds:
        allowed = {"type", *COMMON_FIELDS, *kind.fields}
        assert set(SCHEMAS[kind.schema_name]["properties"]) == allowed, kind.name
    assert set(SCHEMAS["RetryPolicy"]["properties"]) == set(RETRY_POLICY.fields)


def test_each_guardrail_schema_allows_exactly_the_fields_the_worker_builds():
    listed = SCHEMAS["LlmStep"]["properties"]["guardrails"]["oneOf"][0]["items"]["oneOf"]
    for schema in listed:
        kind = schema["properties"]["type"]["const"]
        allowed = guardrails.COMMON_FIELDS | guardrails.TYPE_FIELDS[kind]
        assert set(schema["properties"]) == allowed, kind
    post_check = SCHEMAS["GuardrailConfig"]["properties"]["postChecks"]["items"]
    assert post_check["properties"]["type"]["enum"] == list(guardrails.TYPE_FIELDS)


def test_the_document_is_valid_openapi_3_1():
    OpenAPIV31SpecValidator(DOCUMENT).validate()


def test_the_document_is_served_without_a_key(client):
    result = client.simulate_get(OPENAPI_PATH)
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/json"
    assert result.json == json.loads(json.dumps(DOCUMENT))
    assert problems_with("GET", OPENAPI_PATH, 200, "application/json", result.json) == []


# What the API answers: a tour of every operation, each answer checked against the document.


class Tour:
    """A test client whose every answer must keep to the document; remembers what it saw."""

    def __init__(self, client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, status: int, method: str, template: str, **options: Any) -> Any:
        """Call `template` filled with `ids`; assert the status and that the answer keeps to
        the document; return the body."""
        path = template.format(**options.pop("ids", {}))
        headers = {**self.headers, **options.pop("headers", {})}
        result = self.client.simulate_request(method, path, headers=headers, **options)
        assert result.status_code == status, f"{method} {path}: {result.text[:500]}"
        body = result.json if result.headers.get("content-type") == "application/json" else None
        problems = problems_with(method, template, status, result.headers["content-type"], body)
        assert problems == [], problems
        self.seen.add((method, template, status))
        return body


@pytest.fixture
def tour(client, auth):
    return Tour(client, auth)


def test_every_operation_answers_as_documented(tour, workspace):
    ws = workspace[0]
    _workspaces_and_keys(tour)
    definition_id = _definitions(tour)
    run_id = _runs(tour, definition_id)
    _run_operations(tour, ws, run_id)
    _reruns(tour, ws)
    _run_batches(tour, ws, definition_id)
    _approvals(tour, ws)
    _costs(tour, ws)
    _webhooks(tour, ws)
    _schedules(tour, definition_id)
    _errors(tour, run_id)
    _rate_limit(tour, ws)

    documented = {
        (method.upper(), path, int(status))
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
        if int(status) < 300
    }
    assert documented - tour.seen == set(), "successes the tour never saw"
    errors = {status for _, _, status in tour.seen if status >= 400}
    assert errors == {400, 401, 404, 409, 413, 415, 429}


def _workspaces_and_keys(tour: Tour) -> None:
    admin = {"x-admin-token": ADMIN_TOKEN}
    created = tour.call(
        201, "POST", "/v1/workspaces", json={"name": "Tour", "slug": "tour"}, headers=admin
    )
    assert created["data"]["apiKey"]["key"].startswith("stv_")
    tour.call(409, "POST", "/v1/workspaces", json={"name": "Again", "slug": "tour"}, headers=admin)
    tour.call(400, "POST", "/v1/workspaces", json={"name": "", "slug": "A"}, headers=admin)
    wrong = {"x-admin-token": "nope"}
    tour.call(401, "POST", "/v1/workspaces", json={"name": "x", "slug": "x"}, headers=wrong)
    item = "/v1/workspaces/{workspace_id}"
    ids = {"workspace_id": created["data"]["id"]}
    limited = {"rateLimitPerS": 50}
    changed = tour.call(200, "PATCH", item, ids=ids, json=limited, headers=admin)["data"]
    assert changed["id"] == ids["workspace_id"] and changed["rateLimitPerS"] == 50
    tour.call(200, "PATCH", item, ids=ids, json={"rateLimitPerS": None}, headers=admin)
    tour.call(400, "PATCH", item, ids=ids, json={"rateLimitPerS": 0}, headers=admin)
    tour.call(401, "PATCH", item, ids=ids, json=limited, headers=wrong)
    tour.call(404, "PATCH", item, ids={"workspace_id": new_id("ws")}, json=limited, headers=admin)
    tour.call(200, "GET", "/v1/workspaces/current")
    tour.call(200, "GET", "/health", headers={})
    key = tour.call(201, "POST", "/v1/api-keys", json={"name": "ci"})["data"]
    tour.call(400, "POST", "/v1/api-keys", json={"name": "ci", "extra": 1})
    listed = tour.call(200, "GET", "/v1/api-keys", params={"pageSize": 1})
    assert listed["meta"]["total"] == 2
    tour.call(400, "GET", "/v1/api-keys", params={"page": "0"})
    tour.call(200, "DELETE", "/v1/api-keys/{key_id}", ids={"key_id": key["id"]})
    tour.call(404, "DELETE", "/v1/api-keys/{key_id}", ids={"key_id": new_id("key")})
    tour.call(200, "GET", OPENAPI_PATH, headers={})


def _definitions(tour: Tour) -> str:
    steps = [
        task_step("first", config={"amount": 2}, retry={"maxAttempts": 2}, timeoutMs=5000),
        {"type": "wait", "name": "pause", "durationMs": 10, "signalType": "hurry"},
        {"type": "condition", "name": "check", "expression": "state.total > 1"},
        {"type": "external_event", "name": "payment", "signalType": "paid", "timeoutMs": 60000},
        {"type": "approval", "name": "review", "contentKey": "total", "onReject": "continue"},
        {
            "type": "llm",
            "name": "summarize",
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Total: {{state.total}}"}],
            "responseFormat": "json",
            "outputSchema": {"type": "object"},
            "guardrails": [
                {"type": "content_safety", "blockedTerms": ["secret"], "onFailure": "warn"},
                {"type": "confidence_threshold", "field": "score", "threshold": 0.5},
            ],
        },
    ]
    created = tour.call(201, "POST", "/v1/workflow-definitions", json=definition_body(steps=steps))[
        "data"
    ]
    tour.call(409, "POST", "/v1/workflow-definitions", json=definition_body(steps=steps))
    bad = definition_body(steps=[task_step("x", handler="nope"), {"type": "wait", "name": "x"}])
    tour.call(400, "POST", "/v1/workflow-definitions", json=bad)
    listed = tour.call(200, "GET", "/v1/workflow-definitions", params={"name": "orders"})
    assert [d["id"] for d in listed["data"]] == [created["id"]]
    tour.call(400, "GET", "/v1/workflow-definitions", params={"name": "x" * 201})
    template = "/v1/workflow-definitions/{definition_id}"
    tour.call(200, "GET", template, ids={"definition_id": created["id"]})
    tour.call(404, "GET", template, ids={"definition_id": "wfdef_nope"})
    plain = tour.call(201, "POST", "/v1/workflow-definitions", json=definition_body(name="plain"))
    return plain["data"]["id"]


def _runs(tour: Tour, definition_id: str) -> str:
    body = {"definitionId": definition_id, "input": {"start": 1}, "idempotencyKey": "tour-1"}
    run = tour.call(201, "POST", "/v1/workflow-runs", json=body)["data"]
    again = tour.call(200, "POST", "/v1/workflow-runs", json=body)["data"]
    assert again["id"] == run["id"]
    tour.call(404, "POST", "/v1/workflow-runs", json={"definitionId": new_id("wfdef")})
    tour.call(400, "POST", "/v1/workflow-runs", json={"definitionId": definition_id, "input": 1})
    big = {"definitionId": definition_id, "input": {"blob": "x" * MAX_DOCUMENT_BYTES}}
    tour.call(413, "POST", "/v1/workflow-runs", json=big)
    query = {"status": "PENDING", "definitionId": definition_id}
    listed = tour.call(200, "GET", "/v1/workflow-runs", params=query)
    assert [r["id"] for r in listed["data"]] == [run["id"]]
    tour.call(400, "GET", "/v1/workflow-runs", params={"status": "DONE"})
    ids = {"run_id": run["id"]}
    tour.call(200, "GET", "/v1/workflow-runs/{run_id}", ids=ids)
    tour.call(404, "GET", "/v1/workflow-runs/{run_id}", ids={"run_id": new_id("wfrun")})
    tour.call(200, "GET", "/v1/workflow-runs/{run_id}/events", ids=ids)
    tour.call(400, "GET", "/v1/workflow-runs/{run_id}/events", ids=ids, params={"pageSize": 101})
    return run["id"]


def _run_operations(tour: Tour, ws, pending_run_id: str) -> None:
    cancel = "/v1/workflow-runs/{run_id}/cancel"
    tour.call(200, "POST", cancel, ids={"run_id": pending_run_id})
    tour.call(409, "POST", cancel, ids={"run_id": pending_run_id})
    tour.call(400, "POST", cancel, ids={"run_id": pending_run_id}, json={"reason": "x"})
    waiting, _ = run_states.waiting(ws)
    resume = "/v1/workflow-runs/{run_id}/resume"
    ids = {"run_id": waiting.id}
    tour.call(409, "POST", resume, ids=ids, json={"signalType": "other"})
    tour.call(400, "POST", resume, ids=ids, json={"payload": {}})
    resumed = tour.call(200, "POST", resume, ids=ids, json={"signalType": "payment.received"})
    assert resumed["data"]["status"] == "RUNNING"
    held, _ = run_states.waiting(ws)
    pause, unpause = "/v1/workflow-runs/{run_id}/pause", "/v1/workflow-runs/{run_id}/unpause"
    ids = {"run_id": held.id}
    tour.call(409, "POST", unpause, ids=ids)
    tour.call(400, "POST", pause, ids=ids, json={"reason": "lunch"})
    paused = tour.call(200, "POST", pause, ids=ids)["data"]
    assert (paused["status"], paused["pausedReason"]) == ("PAUSED", "manual")
    tour.call(409, "POST", pause, ids=ids)
    tour.call(404, "POST", unpause, ids={"run_id": new_id("wfrun")})
    assert tour.call(200, "POST", unpause, ids=ids)["data"]["status"] == "WAITING"
    events = tour.call(200, "GET", "/v1/workflow-runs/{run_id}/events", ids=ids)["data"]
    assert [e["eventType"] for e in events][-2:] == ["WORKFLOW_PAUSED", "WORKFLOW_UNPAUSED"]
    failed, _ = run_states.failed(ws)
    retry = "/v1/workflow-runs/{run_id}/retry"
    assert tour.call(200, "POST", retry, ids={"run_id": failed.id})["data"]["status"] == "RUNNING"
    tour.call(409, "POST", retry, ids={"run_id": failed.id})
    detailed = tour.call(200, "GET", "/v1/workflow-runs/{run_id}", ids={"run_id": failed.id})
    assert detailed["data"]["stepRuns"], "a run with its step runs"
    events = tour.call(200, "GET", "/v1/workflow-runs/{run_id}/events", ids={"run_id": failed.id})
    assert events["data"], "a run with events"


def _reruns(tour: Tour, ws) -> None:
    rerun = "/v1/workflow-runs/{run_id}/rerun"
    done = {"run_id": run_states.completed(ws).id}
    body = {"fromStep": "work", "state": {"again": True}, "idempotencyKey": "rerun-1"}
    made = tour.call(201, "POST", rerun, ids=done, json=body)["data"]
    assert made["rerunOf"] == done["run_id"] and made["state"] == {"again": True}
    assert tour.call(200, "POST", rerun, ids=done, json=body)["data"]["id"] == made["id"]
    tour.call(400, "POST", rerun, ids=done, json={"fromStep": "nope"})
    big = {"fromStep": "work", "state": {"blob": "x" * MAX_DOCUMENT_BYTES}}
    tour.call(413, "POST", rerun, ids=done, json=big)
    running = {"run_id": run_states.running(ws)[0].id}
    tour.call(409, "POST", rerun, ids=running, json={"fromStep": "work"})
    tour.call(404, "POST", rerun, ids={"run_id": new_id("wfrun")}, json={"fromStep": "work"})


def _run_batches(tour: Tour, ws, definition_id: str) -> None:
    batch = "/v1/workflow-runs/batch"
    runs = [
        {"definitionId": definition_id, "idempotencyKey": "b-1"},
        {"definitionId": definition_id},
    ]
    created = tour.call(201, "POST", batch, json={"runs": runs})
    assert [run["idempotencyKey"] for run in created["data"]] == ["b-1", None]
    tour.call(400, "POST", batch, json={"runs": [{"definitionId": "wfdef_nope"}]})
    ids = [run["id"] for run in created["data"]]
    failed, _ = run_states.failed(ws)
    bulk = {"ids": [*ids, failed.id]}
    cancelled = tour.call(200, "POST", "/v1/workflow-runs/bulk/cancel", json=bulk)
    assert cancelled["data"] == {"matched": 3, "changed": 2}
    retried = tour.call(200, "POST", "/v1/workflow-runs/bulk/retry", json=bulk)
    assert retried["data"] == {"matched": 3, "changed": 1}
    tour.call(400, "POST", "/v1/workflow-runs/bulk/retry", json={})


def _approvals(tour: Tour, ws) -> None:
    _, _, request = run_states.paused(ws)
    _, _, other = run_states.paused(ws)
    pending = tour.call(200, "GET", "/v1/approval-requests", params={"pending": "true"})
    assert {r["id"] for r in pending["data"]} == {request.id, other.id}
    tour.call(400, "GET", "/v1/approval-requests", params={"pending": "maybe"})
    item = "/v1/approval-requests/{request_id}"
    tour.call(200, "GET", item, ids={"request_id": request.id})
    tour.call(404, "GET", item, ids={"request_id": new_id("apr")})
    decide = "/v1/approval-requests/{request_id}/decide"
    ids = {"request_id": request.id}
    tour.call(400, "POST", decide, ids=ids, json={"decision": "edited"})
    decision = {"decision": "edited", "editedContent": {"text": "better"}, "decidedBy": "ann"}
    tour.call(200, "POST", decide, ids=ids, json=decision)
    tour.call(409, "POST", decide, ids=ids, json={"decision": "approved"})
    tour.call(200, "POST", decide, ids={"request_id": other.id}, json={"decision": "rejected"})
    decided = tour.call(200, "GET", "/v1/approval-requests", params={"pending": "false"})
    assert len(decided["data"]) == 2


def _costs(tour: Tour, ws) -> None:
    run, step_run = run_states.running(ws)
    for outcome, error in (("completed", None), ("failed", {"code": "LLM_PROVIDER_ERROR"})):
        LlmCall.create(
            id=new_id("llm"),
            workspace=ws,
            run=run,
            step_run=StepRun.get_by_id(step_run.id),
            attempt=1,
            provider="openai",
            model="gpt-4o",
            input_tokens=100,
            output_tokens=10,
            cost_usd=Decimal("0.00125"),
            duration_ms=250,
            outcome=outcome,
            error=error,
            created_at=utcnow(),
        )
    cost = tour.call(200, "GET", "/v1/workflow-runs/{run_id}/cost", ids={"run_id": run.id})
    assert len(cost["data"]["calls"]) == 2
    tour.call(404, "GET", "/v1/workflow-runs/{run_id}/cost", ids={"run_id": new_id("wfrun")})
    summary = tour.call(200, "GET", "/v1/cost/summary")
    assert summary["data"]["calls"] == 2 and summary["data"]["byDay"]
    tour.call(200, "GET", "/v1/cost/summary", params={"from": "0001-01-01", "to": "0001-01-31"})
    for bad in ({"to": "9999-12-31"}, {"from": "2026-02-01", "to": "2026-01-01"}, {"to": "x"}):
        tour.call(400, "GET", "/v1/cost/summary", params=bad)


def _webhooks(tour: Tour, ws) -> None:
    created = tour.call(201, "POST", "/v1/webhooks", json=WEBHOOK)["data"]
    assert created["secret"].startswith("whsec_")
    tour.call(400, "POST", "/v1/webhooks", json={"url": "http://127.0.0.1/x", "events": []})
    run_states.completed(ws)  # a delivery owed to the webhook
    delivery = WebhookDelivery.get(WebhookDelivery.webhook == created["id"])
    WebhookAttempt.create(
        delivery=delivery,
        number=1,
        started_at=utcnow() - datetime.timedelta(seconds=1),
        status_code=503,
        error="the receiver answered 503",
        duration_ms=40,
    )
    tour.call(200, "GET", "/v1/webhooks")
    tour.call(400, "GET", "/v1/webhooks", params={"page": "x"})
    ids = {"webhook_id": created["id"]}
    tour.call(200, "GET", "/v1/webhooks/{webhook_id}", ids=ids)
    deliveries = tour.call(200, "GET", "/v1/webhooks/{webhook_id}/deliveries", ids=ids)
    assert deliveries["data"][0]["attempts"][0]["statusCode"] == 503
    tour.call(400, "GET", "/v1/webhooks/{webhook_id}/deliveries", ids=ids, params={"page": "-1"})
    tour.call(200, "DELETE", "/v1/webhooks/{webhook_id}", ids=ids)
    tour.call(404, "GET", "/v1/webhooks/{webhook_id}", ids=ids)
    tour.call(404, "DELETE", "/v1/webhooks/{webhook_id}", ids=ids)
    tour.call(404, "GET", "/v1/webhooks/{webhook_id}/deliveries", ids=ids)


def _schedules(tour: Tour, definition_id: str) -> None:
    body = {"definitionId": definition_id, "cron": "30 2 * * *", "timezone": "Europe/Berlin"}
    daily = tour.call(201, "POST", "/v1/schedules", json=body)["data"]
    assert daily["cron"] == "30 2 * * *" and daily["intervalMs"] is None
    body = {"definitionId": definition_id, "intervalMs": 60000, "input": {"n": 1}}
    every = tour.call(201, "POST", "/v1/schedules", json=body)["data"]
    tour.call(400, "POST", "/v1/schedules", json={**body, "cron": "* * * * *"})
    listed = tour.call(200, "GET", "/v1/schedules", params={"pageSize": 1})
    assert listed["meta"]["total"] == 2 and listed["data"][0]["id"] == every["id"]
    tour.call(400, "GET", "/v1/schedules", params={"pageSize": 0})
    ids = {"schedule_id": every["id"]}
    # A fire, as the clock makes it: a run with its scheduleId.
    Schedule.update(next_fire_at=utcnow()).where(Schedule.id == every["id"]).execute()
    (run_id,) = fire_due_schedules(10)
    fired = tour.call(200, "GET", "/v1/schedules/{schedule_id}", ids=ids)["data"]
    assert fired["lastRunId"] == run_id
    run = tour.call(200, "GET", "/v1/workflow-runs/{run_id}", ids={"run_id": run_id})["data"]
    assert run["scheduleId"] == every["id"]
    tour.call(404, "GET", "/v1/schedules/{schedule_id}", ids={"schedule_id": new_id("sch")})
    paused = tour.call(200, "POST", "/v1/schedules/{schedule_id}/pause", ids=ids)["data"]
    assert paused["paused"] is True and paused["nextFireAt"] is None
    tour.call(409, "POST", "/v1/schedules/{schedule_id}/pause", ids=ids)
    tour.call(400, "POST", "/v1/schedules/{schedule_id}/unpause", ids=ids, json={"now": True})
    tour.call(200, "POST", "/v1/schedules/{schedule_id}/unpause", ids=ids)
    tour.call(409, "POST", "/v1/schedules/{schedule_id}/unpause", ids=ids)
    tour.call(200, "DELETE", "/v1/schedules/{schedule_id}", ids=ids)
    for method in ("GET", "DELETE"):
        tour.call(404, method, "/v1/schedules/{schedule_id}", ids=ids)
    for operation in ("pause", "unpause"):
        tour.call(404, "POST", f"/v1/schedules/{{schedule_id}}/{operation}", ids=ids)


def _errors(tour: Tour, run_id: str) -> None:
    ids = {"run_id": run_id}
    tour.call(401, "GET", "/v1/workflow-runs/{run_id}", ids=ids, headers={"x-api-key": "stv_x"})
    tour.call(401, "GET", "/v1/workspaces/current", headers={"x-api-key": ""})
    tour.call(400, "POST", "/v1/api-keys", body=b"{not json", headers=_JSON)
    tour.call(400, "POST", "/v1/api-keys", body=b"[1]", headers=_JSON)
    tour.call(400, "POST", "/v1/api-keys", body='{"name": "\\ud800"}', headers=_JSON)
    tour.call(400, "GET", "/v1/workflow-definitions", params={"name": "a\x00b"})
    tour.call(415, "POST", "/v1/api-keys", body=b"name=ci", headers={"content-type": "text/plain"})
    tour.call(415, "GET", "/v1/workspaces/current", body=b"x", headers={"content-type": "text/x"})
    too_big = b" " * (MAX_BODY_BYTES + 1)
    tour.call(413, "POST", "/v1/workflow-runs", body=too_big, headers=_JSON)
    # Outside any operation: the same envelope.
    for method, path, status in (("GET", "/v1/nope", 404), ("PUT", "/v1/workflow-runs", 405)):
        result = tour.client.simulate_request(method, path, headers=tour.headers)
        assert result.status_code == status
        assert _violations(_pointer("components", "schemas", "ErrorEnvelope"), result.json) == []


def _rate_limit(tour: Tour, ws) -> None:
    # A bucket of two tokens (a rate of one a second): the third call at once is refused.
    admin = {"x-admin-token": ADMIN_TOKEN}
    ids = {"workspace_id": ws.id}
    item = "/v1/workspaces/{workspace_id}"
    tour.call(200, "PATCH", item, ids=ids, json={"rateLimitPerS": 1}, headers=admin)
    tour.call(200, "GET", "/v1/workspaces/current")
    tour.call(200, "GET", "/v1/workspaces/current")
    tour.call(429, "GET", "/v1/workspaces/current")
    refused = tour.client.simulate_get("/v1/workspaces/current", headers=tour.headers)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"


_JSON = {"content-type": "application/json"}
