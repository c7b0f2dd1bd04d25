"""Runs, costs, webhooks, definitions and events as Stevora's documentation shows them (SPEC
section 14), through HTTP and a worker, each checked against the database.
"""

from __future__ import annotations

import datetime

import pytest

from app.openapi import build_document
from models import statuses
from models.base import iso_utc
from models.definitions import WorkflowDefinition
from models.llm_calls import LlmCall
from models.runs import StepRun, WorkflowRun
from models.webhooks import Webhook
from tests.llm_servers import OPENAI, FakeProvider, point_at, text
from tests.support import create_run_over_http, wait_for_run


@pytest.fixture
def openai(monkeypatch):
    with FakeProvider(OPENAI) as server:
        point_at(monkeypatch, openai=server)
        yield server


def llm_step(name: str, model: str = "gpt-4o") -> dict:
    return {
        "type": "llm",
        "name": name,
        "model": model,
        "messages": [{"role": "user", "content": "Write a welcome email for {{companyName}}"}],
        "temperature": 0.7,
        "maxTokens": 500,
    }


@pytest.fixture
def llm_run(client, auth, worker, openai):
    """A COMPLETED run of two llm steps, one call each; its id."""
    openai.script(
        text("Welcome aboard!", input_tokens=245, output_tokens=312),
        text("onboarding", input_tokens=595, output_tokens=168),
    )
    steps = [llm_step("generate-welcome-email"), llm_step("classify-intent", "gpt-4o-mini")]
    run_id = create_run_over_http(client, auth, steps, {"companyName": "Acme Corp"})
    assert wait_for_run(run_id).status == statuses.COMPLETED
    return run_id


# Costs.


def test_each_call_of_a_runs_cost_has_its_step_name(client, auth, llm_run):
    cost = client.simulate_get(f"/v1/workflow-runs/{llm_run}/cost", headers=auth)

    assert cost.status_code == 200, cost.json
    calls = cost.json["data"]["calls"]
    stored = {s.id: s.step_name for s in StepRun.select().where(StepRun.run == llm_run)}
    assert [c["stepName"] for c in calls] == ["generate-welcome-email", "classify-intent"]
    assert all(c["stepName"] == stored[c["stepRunId"]] for c in calls)


def test_the_cost_of_the_docs_example_run_is_404(client, auth):
    missing = client.simulate_get("/v1/workflow-runs/wfrun_def456/cost", headers=auth)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NOT_FOUND"


def summary(client, auth, query: str = "") -> dict:
    answer = client.simulate_get("/v1/cost/summary", query_string=query, headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json["data"]


def test_a_summary_without_from_and_to_covers_all_time(client, auth, llm_run):
    recent = summary(client, auth)
    assert recent["calls"] == 2 and recent["totalCostUsd"] > 0

    long_ago = LlmCall.created_at - datetime.timedelta(days=60)
    assert LlmCall.update(created_at=long_ago).where(LlmCall.run == llm_run).execute() == 2
    backdated = summary(client, auth)

    assert (backdated["from"], backdated["to"]) == (None, None)
    totals = ("totalCostUsd", "totalInputTokens", "totalOutputTokens", "calls", "byModel")
    assert {k: backdated[k] for k in totals} == {k: recent[k] for k in totals}
    days = {call.created_at.date().isoformat() for call in LlmCall.select()}
    assert [day["day"] for day in backdated["byDay"]] == sorted(days)


def test_a_summary_takes_the_window_the_docs_write(client, auth, llm_run):
    first, second = LlmCall.select().where(LlmCall.run == llm_run).order_by(LlmCall.id)
    LlmCall.update(created_at=datetime.datetime(2026, 4, 2, 12)).where(
        LlmCall.id == first.id
    ).execute()
    LlmCall.update(created_at=datetime.datetime(2026, 5, 1, 9)).where(
        LlmCall.id == second.id
    ).execute()

    april = summary(client, auth, "from=2026-04-01T00:00:00Z&to=2026-04-30T23:59:59Z")

    assert (april["from"], april["to"]) == ("2026-04-01T00:00:00.000Z", "2026-04-30T23:59:59.000Z")
    assert (april["calls"], april["totalInputTokens"]) == (1, first.input_tokens)
    assert [m["model"] for m in april["byModel"]] == [first.model]
    assert summary(client, auth, "from=2026-04-01T00:00:00Z")["calls"] == 2
    assert summary(client, auth, "to=2026-04-30T23:59:59Z")["calls"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-04-30T23:59:59Z&to=2026-04-01T00:00:00Z", "from"),
        ("from=last-month", "from"),
        ("to=2026-04-31", "to"),
    ],
)
def test_a_bad_summary_window_is_still_400(client, auth, query, field):
    refused = client.simulate_get("/v1/cost/summary", query_string=query, headers=auth)
    assert refused.status_code == 400
    assert [f["field"] for f in refused.json["error"]["details"]["fields"]] == [field]


# Webhooks.

#: The docs' webhook, at a public address so that nothing is resolved (no clock runs: nothing
#: is sent).
HOOK = {
    "url": "https://93.184.215.14/webhooks/stevora",
    "events": ["workflow.completed", "workflow.failed", "approval.requested"],
}


def test_a_webhook_has_stevoras_fields_and_is_active_until_deleted(client, auth, workspace):
    created = client.simulate_post("/v1/webhooks", headers=auth, json=HOOK)

    assert created.status_code == 201, created.json
    data = created.json["data"]
    fields = {"id", "workspaceId", "url", "events", "isActive", "createdAt"}
    assert set(data) == fields | {"secret"}
    stored = Webhook.get_by_id(data["id"])
    assert (data["workspaceId"], data["secret"]) == (workspace[0].id, stored.secret)
    assert (data["url"], data["events"], data["isActive"]) == (HOOK["url"], HOOK["events"], True)
    shown = {k: v for k, v in data.items() if k != "secret"}
    assert client.simulate_get(f"/v1/webhooks/{data['id']}", headers=auth).json["data"] == shown
    assert client.simulate_get("/v1/webhooks", headers=auth).json["data"] == [shown]

    deleted = client.simulate_delete(f"/v1/webhooks/{data['id']}", headers=auth)

    assert deleted.status_code == 200
    assert deleted.json["data"] == {**shown, "isActive": False}
    assert Webhook.get_by_id(data["id"]).deleted_at is not None
    gone = client.simulate_get(f"/v1/webhooks/{data['id']}", headers=auth)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {**HOOK, "url": "not a url"},
        {**HOOK, "events": []},
        {**HOOK, "events": ["workflow.started"]},
    ],
    ids=["an invalid URL", "no events", "an unknown event"],
)
def test_the_docs_bad_webhooks_are_400(client, auth, body):
    refused = client.simulate_post("/v1/webhooks", headers=auth, json=body)

    assert refused.status_code == 400 and refused.json["error"]["code"] == "VALIDATION_ERROR"
    assert Webhook.select().count() == 0


# Definitions.

ONBOARDING = {
    "name": "customer-onboarding",
    "version": "1.0.0",
    "description": "Automated customer onboarding with AI research",
    "steps": [
        {
            "type": "task",
            "name": "enrich-company",
            "handler": "echo",
            "config": {"source": "clearbit"},
        },
        {
            "type": "approval",
            "name": "review-email",
            "contentKey": "source",
            "prompt": "Review the generated welcome email before sending",
        },
    ],
}


def test_a_definition_carries_updated_at_equal_to_created_at(client, auth):
    created = client.simulate_post("/v1/workflow-definitions", headers=auth, json=ONBOARDING)

    assert created.status_code == 201, created.json
    data = created.json["data"]
    stored = WorkflowDefinition.get_by_id(data["id"])
    assert data["createdAt"] == data["updatedAt"] == iso_utc(stored.created_at)
    one = client.simulate_get(f"/v1/workflow-definitions/{data['id']}", headers=auth)
    listed = client.simulate_get("/v1/workflow-definitions?name=customer-onboarding", headers=auth)
    assert one.json["data"] == data and listed.json["data"] == [data]

    again = client.simulate_post("/v1/workflow-definitions", headers=auth, json=ONBOARDING)

    assert again.status_code == 409 and again.json["error"]["code"] == "CONFLICT"
    assert WorkflowDefinition.select().count() == 1
    assert client.simulate_get(f"/v1/workflow-definitions/{data['id']}", headers=auth).json == {
        "success": True,
        "data": data,
    }


# Events.


def test_step_events_carry_the_step_type_and_the_duration(client, auth, worker, clock):
    steps = [
        {"type": "task", "name": "enrich-company", "handler": "sleepy", "config": {"seconds": 0.2}},
        {
            "type": "task",
            "name": "send-email",
            "handler": "fails_until",
            "config": {"failures": 1},
            "retry": {"maxAttempts": 2, "backoffMs": 100},
        },
        {"type": "wait", "name": "cooling-off", "durationMs": 300},
    ]
    run_id = create_run_over_http(client, auth, steps)
    assert wait_for_run(run_id).status == statuses.COMPLETED

    answer = client.simulate_get(
        f"/v1/workflow-runs/{run_id}/events", query_string="page=1&pageSize=50", headers=auth
    )

    assert answer.status_code == 200
    events = answer.json["data"]
    step_runs = {s.id: s for s in StepRun.select().where(StepRun.run == run_id)}

    def of(event_type):
        found = [e for e in events if e["eventType"] == event_type]
        return [(step_runs[e["stepRunId"]], e["payload"]) for e in found]

    started = of("STEP_STARTED")
    assert [(s.step_name, p["stepName"], p["stepType"], p["attempt"]) for s, p in started] == [
        ("enrich-company", "enrich-company", "task", 1),
        ("send-email", "send-email", "task", 1),
        ("send-email", "send-email", "task", 2),
        ("cooling-off", "cooling-off", "wait", 1),
    ]
    completed = of("STEP_COMPLETED")
    assert [p["stepName"] for _, p in completed] == ["enrich-company", "send-email", "cooling-off"]
    assert all(p["stepName"] == s.step_name for s, p in completed)
    assert all(p["durationMs"] == s.duration_ms for s, p in completed)
    durations = {p["stepName"]: p["durationMs"] for _, p in completed}
    assert durations["enrich-company"] >= 200 and durations["cooling-off"] >= 300


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/v1/workflow-runs/wfrun_def456/events", "page=1&pageSize=50", 404),
        ("/v1/workflow-runs/{run}/events", "page=1&pageSize=101", 400),
        ("/v1/workflow-runs/{run}/events", "page=0", 400),
    ],
)
def test_bad_event_requests_are_refused(client, auth, path, query, status):
    run_id = create_run_over_http(client, auth, [{"type": "task", "name": "t", "handler": "noop"}])
    refused = client.simulate_get(path.format(run=run_id), query_string=query, headers=auth)
    assert refused.status_code == status


# List filters holding ids of another format.


@pytest.fixture
def two_runs(client, auth):
    """Two runs of one definition, created through the API; the definition's id."""
    steps = [{"type": "task", "name": "t", "handler": "noop"}]
    run_id = create_run_over_http(client, auth, steps)
    definition_id = WorkflowRun.get_by_id(run_id).definition_id
    again = client.simulate_post(
        "/v1/workflow-runs", headers=auth, json={"definitionId": definition_id}
    )
    assert again.status_code == 201
    assert WorkflowRun.select().where(WorkflowRun.definition == definition_id).count() == 2
    return definition_id


def listed(client, auth, path: str, query: str) -> dict:
    answer = client.simulate_get(path, query_string=query, headers=auth)
    assert answer.status_code == 200, (query, answer.json)
    return answer.json


def test_the_docs_definition_id_filters_runs_to_none(client, auth, two_runs):
    found = listed(client, auth, "/v1/workflow-runs", "definitionId=wfdef_abc123")

    assert found["data"] == []
    assert found["meta"] == {"page": 1, "pageSize": 20, "total": 0, "totalPages": 0}
    assert len(listed(client, auth, "/v1/workflow-runs", f"definitionId={two_runs}")["data"]) == 2


@pytest.mark.parametrize(
    "other",
    [
        "wfdef_abc123&status=PENDING",
        "wfrun_{ulid}",  # an id of another type
        "WFDEF_{ulid}",
        "wfdef_{ulid}x",
        "{ulid}",
        "wfdef_%00",
        "",
        "x" * 2000,
    ],
)
def test_a_definition_id_of_another_format_matches_nothing(client, auth, two_runs, other):
    ulid = two_runs.removeprefix("wfdef_")

    found = listed(client, auth, "/v1/workflow-runs", "definitionId=" + other.format(ulid=ulid))

    assert (found["data"], found["meta"]["total"]) == ([], 0)


def test_every_id_filter_of_a_list_takes_an_id_of_another_format(client, auth, two_runs):
    filters = [
        (path, parameter["name"])
        for path, item in build_document()["paths"].items()
        if "get" in item and "{" not in path
        for parameter in item["get"].get("parameters", ())
        if parameter.get("in") == "query" and parameter["name"].endswith("Id")
    ]
    assert ("/v1/workflow-runs", "definitionId") in filters

    for path, name in filters:
        assert listed(client, auth, path, f"{name}=wfdef_abc123")["data"] == [], (path, name)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("definitionId=wfdef_abc123&status=DONE", "status"),
        ("definitionId=wfdef_abc123&definitionId=wfdef_def456", "definitionId"),
        ("definitionId=wfdef_abc123&pageSize=0", "pageSize"),
    ],
)
def test_other_bad_run_filters_are_still_400(client, auth, query, field):
    refused = client.simulate_get("/v1/workflow-runs", query_string=query, headers=auth)
    assert refused.status_code == 400
    assert [f["field"] for f in refused.json["error"]["details"]["fields"]] == [field]


# Where a final run stopped.


def current_step(client, auth, run_id: str) -> tuple:
    """The run's current step as GET answers it, checked against the database."""
    data = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    stored = WorkflowRun.get_by_id(run_id)
    assert (data["currentStepIndex"], data["currentStepName"]) == (
        stored.current_step_index,
        stored.current_step_name,
    )
    return data["status"], data["currentStepIndex"], data["currentStepName"]


def test_a_completed_run_has_no_current_step(client, auth, worker):
    steps = [
        {"type": "task", "name": "enrich-company", "handler": "echo", "config": {"ok": True}},
        {"type": "condition", "name": "check", "expression": "ok", "trueStep": "send-email"},
        {"type": "task", "name": "skipped", "handler": "noop"},
        {"type": "task", "name": "send-email", "handler": "noop"},
    ]
    run_id = create_run_over_http(client, auth, steps)

    assert wait_for_run(run_id).status == statuses.COMPLETED

    assert current_step(client, auth, run_id) == (statuses.COMPLETED, None, None)
    (listed,) = client.simulate_get("/v1/workflow-runs", headers=auth).json["data"]
    assert (listed["currentStepIndex"], listed["currentStepName"]) == (None, None)


def test_failed_and_cancelled_runs_keep_the_step_where_they_stopped(client, auth, worker):
    fails = [
        {"type": "task", "name": "enrich-company", "handler": "noop"},
        {"type": "task", "name": "charge", "handler": "boom", "retry": {"maxAttempts": 1}},
    ]
    failed = create_run_over_http(client, auth, fails)
    waits = [
        {"type": "task", "name": "enrich-company", "handler": "noop"},
        {"type": "wait", "name": "cooling-off", "durationMs": 3_600_000},
    ]
    cancelled = create_run_over_http(client, auth, waits)
    wait_for_run(cancelled, (statuses.WAITING,))

    answer = client.simulate_post(f"/v1/workflow-runs/{cancelled}/cancel", headers=auth)

    assert answer.status_code == 200
    assert wait_for_run(failed).status == statuses.FAILED
    assert current_step(client, auth, failed) == (statuses.FAILED, 1, "charge")
    assert current_step(client, auth, cancelled) == (statuses.CANCELLED, 1, "cooling-off")


def test_a_retried_run_that_completes_has_no_current_step(client, auth, worker):
    steps = [
        {"type": "task", "name": "a", "handler": "noop"},
        {
            "type": "task",
            "name": "b",
            "handler": "flaky",
            "config": {"failures": 1},
            "retry": {"maxAttempts": 1},
        },
    ]
    run_id = create_run_over_http(client, auth, steps)
    assert wait_for_run(run_id).status == statuses.FAILED
    assert current_step(client, auth, run_id) == (statuses.FAILED, 1, "b")

    retried = client.simulate_post(f"/v1/workflow-runs/{run_id}/retry", headers=auth)

    assert retried.status_code == 200
    assert wait_for_run(run_id).status == statuses.COMPLETED
    assert current_step(client, auth, run_id) == (statuses.COMPLETED, None, None)


def test_the_docs_example_run_is_404(client, auth):
    missing = client.simulate_get("/v1/workflow-runs/wfrun_def456", headers=auth)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "NOT_FOUND"
