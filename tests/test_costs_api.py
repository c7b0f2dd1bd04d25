"""GET /v1/workflow-runs/:id/cost and GET /v1/cost/summary."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from models import statuses
from models.base import utcnow
from models.ids import new_id
from models.llm_calls import LlmCall
from models.runs import StepRun
from tests.llm_servers import OPENAI, FakeProvider, error, point_at, text
from tests.support import create_run_over_http, insert_definition, insert_run, wait_for_run


@pytest.fixture
def openai(monkeypatch):
    with FakeProvider(OPENAI) as server:
        point_at(monkeypatch, openai=server)
        yield server


def add_call(workspace, when, model="gpt-4o", cost="0.01", tokens=(100, 10), outcome="completed"):
    """A recorded call of a run of `workspace`, made at `when` (straight into the table)."""
    run = insert_run(insert_definition(workspace, [{"type": "llm", "name": "ask"}]))
    step_run = StepRun.create(
        id=new_id("srun"),
        run=run,
        step_index=0,
        step_name="ask",
        step_type="llm",
        status=statuses.COMPLETED,
    )
    return LlmCall.create(
        id=new_id("llm"),
        workspace=workspace,
        run=run,
        step_run=step_run,
        attempt=1,
        provider="openai",
        model=model,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_usd=Decimal(cost),
        duration_ms=120,
        outcome=outcome,
        created_at=when,
    )


def at(day, hour=12):
    return datetime.datetime(2026, 3, day, hour)


def test_a_runs_cost_lists_every_call_and_adds_them_up(client, auth, worker, openai):
    openai.script(
        error(503, "busy"),
        text("first", input_tokens=2000, output_tokens=100),
        text("second", input_tokens=400, output_tokens=50),
    )
    step = {
        "type": "llm",
        "name": "one",
        "model": "gpt-4o",
        "fallbackModels": ["gpt-4o-mini"],
        "messages": [{"role": "user", "content": "hi"}],
    }
    steps = [step, {**step, "name": "two", "model": "gpt-4o-mini", "fallbackModels": []}]
    run_id = create_run_over_http(client, auth, steps)
    assert wait_for_run(run_id).status == statuses.COMPLETED

    response = client.simulate_get(f"/v1/workflow-runs/{run_id}/cost", headers=auth)

    assert response.status_code == 200
    cost = response.json["data"]
    # gpt-4o-mini: 0.15 in, 0.60 out per million tokens.
    first = Decimal("0.00036")  # 2000 * 0.15e-6 + 100 * 0.6e-6
    second = Decimal("0.00009")  # 400 * 0.15e-6 + 50 * 0.6e-6
    assert cost["workflowRunId"] == run_id
    assert cost["totalCostUsd"] == float(first + second)
    assert (cost["totalInputTokens"], cost["totalOutputTokens"]) == (2400, 150)
    assert [(c["stepName"], c["model"], c["outcome"], c["costUsd"]) for c in cost["calls"]] == [
        ("one", "gpt-4o", "failed", 0),
        ("one", "gpt-4o-mini", "completed", float(first)),
        ("two", "gpt-4o-mini", "completed", float(second)),
    ]
    failed = cost["calls"][0]
    assert failed["error"]["status"] == 503 and failed["provider"] == "openai"
    assert failed["id"].startswith("llm_") and failed["stepRunId"].startswith("srun_")
    assert set(failed) == {
        "id",
        "stepRunId",
        "stepName",
        "attempt",
        "model",
        "provider",
        "inputTokens",
        "outputTokens",
        "costUsd",
        "durationMs",
        "outcome",
        "error",
        "createdAt",
    }
    run = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    assert Decimal(str(run["totalCostCents"])) == (first + second) * 100


def test_a_run_without_llm_steps_costs_nothing(client, auth, workspace):
    run = insert_run(
        insert_definition(workspace[0], [{"type": "task", "name": "t", "handler": "noop"}])
    )

    cost = client.simulate_get(f"/v1/workflow-runs/{run.id}/cost", headers=auth).json["data"]

    assert cost == {
        "workflowRunId": run.id,
        "totalCostUsd": 0,
        "totalInputTokens": 0,
        "totalOutputTokens": 0,
        "calls": [],
    }


def test_another_workspaces_run_cost_is_not_found(client, auth, other_workspace):
    call = add_call(other_workspace[0], at(1))

    for run_id in (call.run_id, "wfrun_nonsense", new_id("wfrun")):
        response = client.simulate_get(f"/v1/workflow-runs/{run_id}/cost", headers=auth)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "NOT_FOUND"


def test_the_summary_adds_up_by_model_and_by_day(client, auth, workspace, other_workspace):
    ws = workspace[0]
    add_call(ws, at(1, 9), "gpt-4o", "0.5", (1000, 100))
    add_call(ws, at(1, 23), "gpt-4o-mini", "0.25", (300, 30))
    add_call(ws, at(2, 0), "gpt-4o", "0.125", (200, 20))
    add_call(ws, at(2, 1), "gpt-4o", "0", (0, 0), outcome="failed")
    add_call(ws, at(5), "gpt-4o", "9")  # after the window
    add_call(other_workspace[0], at(1), "gpt-4o", "7")  # another workspace

    response = client.simulate_get(
        "/v1/cost/summary", headers=auth, params={"from": "2026-03-01", "to": "2026-03-02"}
    )

    assert response.status_code == 200, response.json
    assert response.json["data"] == {
        "from": "2026-03-01T00:00:00.000Z",
        "to": "2026-03-03T00:00:00.000Z",
        "totalCostUsd": 0.875,
        "totalInputTokens": 1500,
        "totalOutputTokens": 150,
        "calls": 4,
        "byModel": [
            {
                "model": "gpt-4o",
                "costUsd": 0.625,
                "inputTokens": 1200,
                "outputTokens": 120,
                "calls": 3,
            },
            {
                "model": "gpt-4o-mini",
                "costUsd": 0.25,
                "inputTokens": 300,
                "outputTokens": 30,
                "calls": 1,
            },
        ],
        "byDay": [
            {
                "day": "2026-03-01",
                "costUsd": 0.75,
                "inputTokens": 1300,
                "outputTokens": 130,
                "calls": 2,
            },
            {
                "day": "2026-03-02",
                "costUsd": 0.125,
                "inputTokens": 200,
                "outputTokens": 20,
                "calls": 2,
            },
        ],
    }


def test_summary_timestamps_bound_the_window_exactly(client, auth, workspace):
    ws = workspace[0]
    add_call(ws, at(1, 9), cost="1")
    add_call(ws, at(1, 10), cost="2")
    add_call(ws, at(1, 11), cost="4")

    response = client.simulate_get(
        "/v1/cost/summary",
        headers=auth,
        # From 10:00 UTC (11:00 at +01:00) up to, not including, 11:00 UTC.
        params={"from": "2026-03-01T11:00:00+01:00", "to": "2026-03-01T11:00:00Z"},
    )

    data = response.json["data"]
    assert (data["from"], data["to"]) == ("2026-03-01T10:00:00.000Z", "2026-03-01T11:00:00.000Z")
    assert (data["totalCostUsd"], data["calls"]) == (2, 1)


def test_a_summary_without_to_has_no_end(client, auth, workspace):
    now = utcnow()
    start = (now - datetime.timedelta(days=2)).date()
    add_call(workspace[0], now - datetime.timedelta(days=1), cost="3")
    add_call(workspace[0], now + datetime.timedelta(hours=1), cost="5")  # a clock ahead of ours
    add_call(workspace[0], now - datetime.timedelta(days=3), cost="7")

    response = client.simulate_get(
        "/v1/cost/summary", headers=auth, params={"from": start.isoformat()}
    )

    data = response.json["data"]
    assert (data["from"], data["to"]) == (f"{start.isoformat()}T00:00:00.000Z", None)
    assert (data["totalCostUsd"], data["calls"]) == (8, 2)


def test_a_summary_without_from_has_no_start(client, auth, workspace):
    add_call(workspace[0], datetime.datetime(1999, 12, 31, 23), cost="3")
    add_call(workspace[0], at(1), cost="5")
    add_call(workspace[0], at(2), cost="7")

    response = client.simulate_get("/v1/cost/summary", headers=auth, params={"to": "2026-03-01"})

    data = response.json["data"]
    assert (data["from"], data["to"]) == (None, "2026-03-02T00:00:00.000Z")
    assert (data["totalCostUsd"], data["calls"]) == (8, 2)
    assert [day["day"] for day in data["byDay"]] == ["1999-12-31", "2026-03-01"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "1700000000"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ],
)
def test_a_bad_summary_window_is_400(client, auth, params, field):
    response = client.simulate_get("/v1/cost/summary", headers=auth, params=params)

    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert [f["field"] for f in response.json["error"]["details"]["fields"]] == [field]


def test_cost_endpoints_need_a_key(client):
    assert client.simulate_get("/v1/cost/summary").status_code == 401
    assert client.simulate_get(f"/v1/workflow-runs/{new_id('wfrun')}/cost").status_code == 401
