"""Batch create and bulk cancel and retry (SPEC section 8), through HTTP and a real worker."""

from __future__ import annotations

import concurrent.futures
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import statuses
from models.base import iso_utc, utcnow
from models.runs import WorkflowRun
from tests import run_states
from tests.support import insert_definition, wait_for_run

ECHO = [{"type": "task", "name": "echo", "handler": "echo", "config": {"n": "{{input.n}}"}}]


def define(client, auth, steps=ECHO) -> str:
    body = {"name": "batch", "version": str(utcnow().timestamp()), "steps": steps}
    created = client.simulate_post("/v1/workflow-definitions", headers=auth, json=body)
    assert created.status_code == 201, created.json
    return created.json["data"]["id"]


def batch(client, auth, runs):
    return client.simulate_post("/v1/workflow-runs/batch", headers=auth, json={"runs": runs})


def bulk(client, auth, operation, **filters):
    return client.simulate_post(f"/v1/workflow-runs/bulk/{operation}", headers=auth, json=filters)


def test_a_batch_creates_every_run_in_order_and_the_clock_starts_them(client, auth, worker, clock):
    definition_id = define(client, auth)
    runs = [{"definitionId": definition_id, "input": {"n": n}} for n in range(25)]

    created = batch(client, auth, runs)

    assert created.status_code == 201, created.json
    ids = [run["id"] for run in created.json["data"]]
    assert [run["input"] for run in created.json["data"]] == [{"n": n} for n in range(25)]
    assert {run["status"] for run in created.json["data"]} == {"PENDING"}
    for n, run_id in enumerate(ids):
        done = wait_for_run(run_id)
        assert done.status == statuses.COMPLETED and done.state == {"n": n}


def test_idempotency_keys_are_honoured_one_by_one(client, auth):
    definition_id = define(client, auth)
    earlier = client.simulate_post(
        "/v1/workflow-runs",
        headers=auth,
        json={"definitionId": definition_id, "idempotencyKey": "order-1"},
    ).json["data"]
    runs = [
        {"definitionId": definition_id, "idempotencyKey": "order-1", "input": {"other": 1}},
        {"definitionId": definition_id, "idempotencyKey": "order-2"},
        {"definitionId": definition_id, "idempotencyKey": "order-2"},
        {"definitionId": definition_id},
    ]

    answer = batch(client, auth, runs).json["data"]

    assert answer[0]["id"] == earlier["id"] and answer[0]["input"] == {}
    assert answer[1]["id"] == answer[2]["id"] != answer[3]["id"]
    assert WorkflowRun.select().count() == 3


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"definitionId": "wfdef_01jd0000000000000000000000"}, "runs[1].definitionId"),
        ({"definitionId": "not-an-id"}, "runs[1].definitionId"),
        ({}, "runs[1].definitionId"),
        ({"input": []}, "runs[1].input"),
        ({"idempotencyKey": "k" * 256}, "runs[1].idempotencyKey"),
        ({"priority": 1}, "runs[1].priority"),
    ],
)
def test_one_bad_item_refuses_the_whole_batch(client, auth, item, field):
    definition_id = define(client, auth)
    runs = [{"definitionId": definition_id}, {"definitionId": definition_id, **item}]
    if "definitionId" in item or item == {}:
        runs[1] = item

    refused = batch(client, auth, runs)

    assert refused.status_code == 400
    assert field in [f["field"] for f in refused.json["error"]["details"]["fields"]]
    assert WorkflowRun.select().count() == 0


def test_another_workspaces_definition_is_refused(client, auth, other_workspace):
    theirs = insert_definition(other_workspace[0], ECHO)
    refused = batch(client, auth, [{"definitionId": theirs.id}])
    assert refused.status_code == 400
    assert WorkflowRun.select().count() == 0


@pytest.mark.parametrize("runs", [[], "all", None, [1] * 1001])
def test_a_batch_is_1_to_1000_runs(client, auth, runs):
    refused = batch(client, auth, runs)
    assert refused.status_code == 400
    assert refused.json["error"]["details"]["fields"][0]["field"].startswith("runs")


def test_two_batches_racing_on_keys_create_one_run_per_key(client, auth):
    definition_id = define(client, auth)
    runs = [{"definitionId": definition_id, "idempotencyKey": f"k{n}"} for n in range(50)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: batch(client, auth, runs), range(4)))

    assert {answer.status_code for answer in answers} == {201}
    ids = {tuple(run["id"] for run in answer.json["data"]) for answer in answers}
    assert len(ids) == 1
    assert WorkflowRun.select().count() == 50


def test_bulk_cancel_by_filter_moves_what_allows_it_and_counts_the_rest(
    client, auth, workspace, other_workspace
):
    ws = workspace[0]
    pending = [run_states.pending(ws) for _ in range(3)]
    waiting, _ = run_states.waiting(ws)
    done = run_states.completed(ws)
    theirs = run_states.pending(other_workspace[0])

    by_status = bulk(client, auth, "cancel", status="PENDING")
    assert by_status.json["data"] == {"matched": 3, "changed": 3}
    by_ids = bulk(client, auth, "cancel", ids=[waiting.id, done.id, theirs.id, "wfrun_nope"])
    assert by_ids.json["data"] == {"matched": 2, "changed": 1}

    statuses_now = {r.id: r.status for r in WorkflowRun.select()}
    assert all(statuses_now[r.id] == statuses.CANCELLED for r in [*pending, waiting])
    assert statuses_now[done.id] == statuses.COMPLETED
    assert statuses_now[theirs.id] == statuses.PENDING


def test_bulk_filters_combine(client, auth, workspace):
    ws = workspace[0]
    old = run_states.pending(ws)
    WorkflowRun.update(created_at=utcnow() - datetime.timedelta(days=2)).where(
        WorkflowRun.id == old.id
    ).execute()
    new = run_states.pending(ws)
    cutoff = iso_utc(utcnow() - datetime.timedelta(days=1))

    answer = bulk(client, auth, "cancel", status="PENDING", createdBefore=cutoff)

    assert answer.json["data"] == {"matched": 1, "changed": 1}
    assert WorkflowRun.get_by_id(new.id).status == statuses.PENDING
    other_format = bulk(client, auth, "cancel", definitionId="wfdef_abc123")
    assert other_format.json["data"] == {"matched": 0, "changed": 0}


def test_bulk_retry_starts_each_failed_run_again(client, auth, workspace, worker):
    ws = workspace[0]
    failed = [run_states.failed(ws)[0] for _ in range(3)]
    done = run_states.completed(ws)

    answer = bulk(client, auth, "retry", ids=[r.id for r in [*failed, done]])

    assert answer.json["data"] == {"matched": 4, "changed": 3}
    for run in failed:
        assert wait_for_run(run.id).status == statuses.COMPLETED


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    filters=st.dictionaries(
        st.sampled_from(["ids", "status", "definitionId", "createdBefore", "limit"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.lists(st.integers(), max_size=2),
            st.sampled_from(["RUNNING", "2026-13-01", "wfdef_x"]),
        ),
        max_size=3,
    )
)
def test_bad_bulk_filters_are_refused_and_move_nothing(client, auth, workspace, filters):
    run = run_states.pending(workspace[0])
    answer = bulk(client, auth, "cancel", **filters)
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert answer.json["error"]["code"] == "VALIDATION_ERROR"
        assert WorkflowRun.get_by_id(run.id).status == statuses.PENDING
    else:
        assert answer.json["data"]["matched"] <= 1
