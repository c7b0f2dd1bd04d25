"""POST/GET /v1/workflow-runs, GET /:id with step runs, GET /:id/events."""

from __future__ import annotations

import logging
import threading

import falcon.testing
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from app.factory import create_app
from models.config import current
from models.runs import RunEvent, WorkflowRun
from tests.api_support import (
    TIMESTAMP,
    assert_error,
    create_definition,
    task_step,
)
from tests.support import post_run, wait_for_run

#: The fields of a run, exactly (SPEC section 4, and section 8's `rerunOf`).
RUN_FIELDS = {
    "id",
    "workspaceId",
    "definitionId",
    "definition",
    "status",
    "currentStepIndex",
    "currentStepName",
    "input",
    "state",
    "output",
    "error",
    "totalCostCents",
    "startedAt",
    "completedAt",
    "failedAt",
    "cancelledAt",
    "nextRunAt",
    "idempotencyKey",
    "scheduleId",
    "pausedReason",
    "queuedReason",
    "version",
    "createdAt",
    "updatedAt",
    "rerunOf",
}
STEP_RUN_FIELDS = {
    "id",
    "stepIndex",
    "stepName",
    "stepType",
    "status",
    "attempt",
    "output",
    "error",
    "startedAt",
    "completedAt",
    "durationMs",
}

#: Nothing listens here: a real broker client that cannot connect.
DEAD_BROKER_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.fixture
def definition(client, auth):
    return create_definition(client, auth)


def test_create_answers_201_with_a_pending_run(client, auth, workspace, definition):
    result = post_run(client, auth, definition["id"], input={"start": 10})
    assert result.status_code == 201
    assert result.json["success"] is True
    run = result.json["data"]
    assert set(run) == RUN_FIELDS
    assert run["id"].startswith("wfrun_") and run["workspaceId"] == workspace[0].id
    assert run["definitionId"] == definition["id"]
    assert run["definition"] == {"name": "orders", "version": "1"}
    assert run["status"] == "PENDING" and run["version"] == 0
    assert run["scheduleId"] is None
    assert run["input"] == {"start": 10} and run["state"] == {}
    assert run["output"] is None and run["error"] is None and run["idempotencyKey"] is None
    assert run["totalCostCents"] == 0 and run["currentStepIndex"] is None
    assert run["rerunOf"] is None
    assert TIMESTAMP.match(run["createdAt"]) and TIMESTAMP.match(run["updatedAt"])
    assert run["startedAt"] is None
    # The clock re-sends start_run at nextRunAt if the run is still PENDING then.
    assert run["nextRunAt"] > run["createdAt"]
    assert RunEvent.select().count() == 0


def test_input_defaults_to_an_empty_object(client, auth, definition):
    result = post_run(client, auth, definition["id"])
    assert result.status_code == 201 and result.json["data"]["input"] == {}


def test_a_repeated_idempotency_key_returns_the_same_run(client, auth, definition, other_workspace):
    first = post_run(client, auth, definition["id"], idempotencyKey="order-42")
    again = post_run(client, auth, definition["id"], idempotencyKey="order-42", input={"x": 1})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["data"] == first.json["data"]
    assert again.json["data"]["idempotencyKey"] == "order-42"
    other_key = post_run(client, auth, definition["id"], idempotencyKey="order-43")
    assert other_key.status_code == 201
    # Keys are per workspace.
    theirs = create_definition(client, {"x-api-key": other_workspace[1]})
    elsewhere = post_run(
        client, {"x-api-key": other_workspace[1]}, theirs["id"], idempotencyKey="order-42"
    )
    assert elsewhere.status_code == 201
    assert WorkflowRun.select().count() == 3


def test_concurrent_creates_with_one_key_make_one_run(auth, definition):
    app = create_app(current())
    barrier = threading.Barrier(8)
    results = []

    def create():
        client = falcon.testing.TestClient(app)
        barrier.wait()
        results.append(post_run(client, auth, definition["id"], idempotencyKey="once"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json["data"]["id"] for r in results}) == 1
    assert WorkflowRun.select().where(WorkflowRun.idempotency_key == "once").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "definitionId"),
        ({"definitionId": 5}, "definitionId"),
        ({"definitionId": "{definition}", "input": [1]}, "input"),
        ({"definitionId": "{definition}", "input": None}, "input"),
        ({"definitionId": "{definition}", "idempotencyKey": ""}, "idempotencyKey"),
        ({"definitionId": "{definition}", "idempotencyKey": "k" * 256}, "idempotencyKey"),
        ({"definitionId": "{definition}", "idempotencyKey": 7}, "idempotencyKey"),
        ({"definitionId": "{definition}", "priority": 1}, "priority"),
    ],
)
def test_create_validates_the_body(client, auth, definition, body, field):
    body = {k: definition["id"] if v == "{definition}" else v for k, v in body.items()}
    result = client.simulate_post("/v1/workflow-runs", json=body, headers=auth)
    assert_error(result, 400, "VALIDATION_ERROR", field)
    assert WorkflowRun.select().count() == 0


def test_an_idempotency_key_of_255_characters_is_accepted(client, auth, definition):
    result = post_run(client, auth, definition["id"], idempotencyKey="k" * 255)
    assert result.status_code == 201


def test_an_unknown_definition_is_404(client, auth, definition, other_workspace):
    theirs = create_definition(client, {"x-api-key": other_workspace[1]})
    for definition_id in ("wfdef_" + "0" * 26, "nope", theirs["id"]):
        assert_error(post_run(client, auth, definition_id), 404, "NOT_FOUND")
    assert WorkflowRun.select().count() == 0


def test_input_over_256_kib_is_413(client, auth, definition):
    result = post_run(client, auth, definition["id"], input={"blob": "x" * (256 * 1024)})
    assert_error(result, 413, "PAYLOAD_TOO_LARGE")
    assert WorkflowRun.select().count() == 0
    fits = post_run(client, auth, definition["id"], input={"blob": "x" * (255 * 1024)})
    assert fits.status_code == 201


def test_creating_publishes_start_run_and_a_pending_repeat_publishes_again(
    client, auth, broker, definition
):
    post_run(client, auth, definition["id"], idempotencyKey="k")
    assert broker.get_queue_message_counts("runs")[0] == 1
    post_run(client, auth, definition["id"], idempotencyKey="k")
    assert broker.get_queue_message_counts("runs")[0] == 2


def test_a_run_of_task_steps_completes(client, auth, worker):
    steps = [
        task_step("first", config={"amount": 2}),
        task_step("second", config={"amount": 5}),
        task_step("keys", handler="record_attempt"),
    ]
    definition = create_definition(client, auth, steps=steps)
    created = post_run(client, auth, definition["id"], input={"start": 1}).json["data"]
    wait_for_run(created["id"])
    result = client.simulate_get(f"/v1/workflow-runs/{created['id']}", headers=auth)
    assert result.status_code == 200
    run = result.json["data"]
    assert set(run) == RUN_FIELDS | {"stepRuns", "stepRunsTotal"}
    assert run["stepRunsTotal"] == 3
    assert run["status"] == "COMPLETED"
    assert run["state"]["total"] == 8 and run["output"] == run["state"]
    assert run["state"]["keys_key"] == run["stepRuns"][2]["id"]
    for field in ("startedAt", "completedAt"):
        assert TIMESTAMP.match(run[field])
    assert run["failedAt"] is None and run["cancelledAt"] is None
    assert [s["stepName"] for s in run["stepRuns"]] == ["first", "second", "keys"]
    for index, step in enumerate(run["stepRuns"]):
        assert set(step) == STEP_RUN_FIELDS
        assert step["stepIndex"] == index and step["stepType"] == "task"
        assert step["status"] == "COMPLETED" and step["attempt"] == 1
        assert step["id"].startswith("srun_") and isinstance(step["durationMs"], int)
    assert run["stepRuns"][0]["output"] == {"total": 3}

    events = client.simulate_get(f"/v1/workflow-runs/{created['id']}/events", headers=auth).json
    types = [e["eventType"] for e in events["data"]]
    assert types[0] == "WORKFLOW_STARTED" and types[-1] == "WORKFLOW_COMPLETED"
    assert types.count("STEP_COMPLETED") == 3
    assert events["meta"]["total"] == run["version"] == len(types)
    first = events["data"][0]
    assert set(first) == {
        "id",
        "workflowRunId",
        "stepRunId",
        "sequence",
        "eventType",
        "payload",
        "createdAt",
    }
    assert first["sequence"] == 1
    assert first["workflowRunId"] == created["id"] and first["stepRunId"] is None
    assert events["data"][1]["stepRunId"] == run["stepRuns"][0]["id"]


def test_a_failing_step_shows_its_error(client, auth, worker):
    steps = [task_step("ok"), task_step("no", handler="refuse", config={"message": "nope"})]
    definition = create_definition(client, auth, steps=steps)
    created = post_run(client, auth, definition["id"]).json["data"]
    wait_for_run(created["id"])
    run = client.simulate_get(f"/v1/workflow-runs/{created['id']}", headers=auth).json["data"]
    assert run["status"] == "FAILED" and TIMESTAMP.match(run["failedAt"])
    assert run["error"]["code"] == "TASK_FAILED" and run["error"]["message"] == "nope"
    assert run["currentStepName"] == "no" and run["currentStepIndex"] == 1
    assert [s["status"] for s in run["stepRuns"]] == ["COMPLETED", "FAILED"]
    assert run["stepRuns"][1]["error"]["code"] == "TASK_FAILED"


def test_events_are_paginated_oldest_first(client, auth, worker):
    steps = [task_step(f"s{n}") for n in range(4)]
    definition = create_definition(client, auth, steps=steps)
    run_id = post_run(client, auth, definition["id"]).json["data"]["id"]
    wait_for_run(run_id)
    path = f"/v1/workflow-runs/{run_id}/events"
    everything = client.simulate_get(path, query_string="pageSize=100", headers=auth).json["data"]
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    total = len(everything)
    second = client.simulate_get(path, query_string="page=2&pageSize=3", headers=auth).json
    assert [e["id"] for e in second["data"]] == [e["id"] for e in everything[3:6]]
    assert second["meta"] == {
        "page": 2,
        "pageSize": 3,
        "total": total,
        "totalPages": -(-total // 3),
    }


def test_a_broker_outage_does_not_fail_creation(auth, definition, caplog):
    client = falcon.testing.TestClient(
        create_app(current(), broker=RabbitmqBroker(url=DEAD_BROKER_URL))
    )
    with caplog.at_level(logging.WARNING, logger="app.commands"):
        result = post_run(client, auth, definition["id"])
    assert result.status_code == 201
    assert WorkflowRun.get_by_id(result.json["data"]["id"]).status == "PENDING"
    assert "not published" in caplog.text


def _make_runs(client, auth):
    one = create_definition(client, auth, name="one")
    two = create_definition(client, auth, name="two")
    runs = [post_run(client, auth, d["id"]).json["data"] for d in (one, two, one)]
    return one, runs


def test_list_is_newest_first_with_filters(client, auth):
    one, runs = _make_runs(client, auth)
    WorkflowRun.update(status="CANCELLED").where(WorkflowRun.id == runs[0]["id"]).execute()
    listed = client.simulate_get("/v1/workflow-runs", headers=auth).json
    assert [r["id"] for r in listed["data"]] == [r["id"] for r in reversed(runs)]
    assert listed["meta"] == {"page": 1, "pageSize": 20, "total": 3, "totalPages": 1}
    assert all(set(r) == RUN_FIELDS for r in listed["data"])
    assert listed["data"][1]["definition"] == {"name": "two", "version": "1"}

    def ids(query):
        result = client.simulate_get("/v1/workflow-runs", query_string=query, headers=auth)
        assert result.status_code == 200, result.text
        return [r["id"] for r in result.json["data"]]

    assert ids(f"definitionId={one['id']}") == [runs[2]["id"], runs[0]["id"]]
    assert ids("status=PENDING") == [runs[2]["id"], runs[1]["id"]]
    assert ids(f"status=CANCELLED&definitionId={one['id']}") == [runs[0]["id"]]
    assert ids("status=COMPLETED") == []
    assert ids(f"definitionId=wfdef_{'0' * 26}") == []
    assert ids("definitionId=nope") == []
    assert ids("pageSize=2&page=2") == [runs[0]["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=pending", "status"),
        ("status=DONE", "status"),
        ("status=PENDING&status=RUNNING", "status"),
        ("definitionId=wfdef_a&definitionId=wfdef_b", "definitionId"),
    ],
)
def test_bad_list_filters_are_400(client, auth, query, field):
    result = client.simulate_get("/v1/workflow-runs", query_string=query, headers=auth)
    assert_error(result, 400, "VALIDATION_ERROR", field)


def test_get_a_pending_run_has_no_step_runs(client, auth, definition):
    created = post_run(client, auth, definition["id"]).json["data"]
    result = client.simulate_get(f"/v1/workflow-runs/{created['id']}", headers=auth)
    assert result.json["data"] == {**created, "stepRuns": [], "stepRunsTotal": 0}


def test_unknown_runs_are_404(client, auth):
    for path in (f"/v1/workflow-runs/wfrun_{'0' * 26}", "/v1/workflow-runs/wfrun_nope"):
        assert_error(client.simulate_get(path, headers=auth), 404, "NOT_FOUND")
        assert_error(client.simulate_get(f"{path}/events", headers=auth), 404, "NOT_FOUND")
