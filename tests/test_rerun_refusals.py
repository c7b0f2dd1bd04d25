"""POST /v1/workflow-runs/:id/rerun refused: a run that is not final (409), another
workspace's (404), a bad body (400) or documents over the limit (413), a run whose history does
not tell its past states (409). None of them creates a run. And idempotency keys.
"""

from __future__ import annotations

import importlib

import pytest

from models import statuses
from models.db import db
from models.documents import MAX_DOCUMENT_BYTES
from models.ids import new_id
from models.runs import StepRun, WorkflowRun
from tests import run_states
from tests.api_support import assert_error
from tests.rerun_support import ADDS, SEND, assert_untouched, new_run_of, post_rerun, run_to_end
from tests.support import post_run

# Refusals: nothing is created


def _runs() -> int:
    return WorkflowRun.select().count()


@pytest.mark.parametrize(
    "status", [statuses.PENDING, statuses.RUNNING, statuses.WAITING, statuses.PAUSED]
)
def test_a_run_that_is_not_final_is_409(client, auth, workspace, status):
    run = run_states.in_status(workspace[0], status)
    before = _runs()

    error = assert_error(
        post_rerun(client, auth, run.id, fromStep=run.current_step_name or "work"), 409, "CONFLICT"
    )

    assert status in error["message"]
    assert _runs() == before
    assert_untouched(run)


def test_another_workspace_s_run_and_unknown_ids_are_404(client, auth, other_workspace):
    theirs = run_states.completed(other_workspace[0])
    for run_id in (theirs.id, new_id("wfrun"), "wfrun_nope", new_id("wfdef")):
        assert_error(post_rerun(client, auth, run_id, fromStep="work"), 404, "NOT_FOUND")
    assert _runs() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "fromStep"),
        ({"fromStep": ""}, "fromStep"),
        ({"fromStep": 3}, "fromStep"),
        ({"fromStep": "x" * 101}, "fromStep"),
        ({"fromStep": "work", "input": [1]}, "input"),
        ({"fromStep": "work", "state": "s"}, "state"),
        ({"fromStep": "work", "state": None}, "state"),
        ({"fromStep": "work", "idempotencyKey": "k" * 256}, "idempotencyKey"),
        ({"fromStep": "work", "from": "work"}, "from"),
    ],
)
def test_bad_bodies_are_400_and_create_nothing(client, auth, workspace, body, field):
    run = run_states.completed(workspace[0])

    assert_error(post_rerun(client, auth, run.id, **body), 400, "VALIDATION_ERROR", field)

    assert _runs() == 1
    assert_untouched(run)


def test_json_that_is_not_an_object_is_400(client, auth, workspace):
    run = run_states.completed(workspace[0])
    result = client.simulate_post(
        f"/v1/workflow-runs/{run.id}/rerun",
        body="[1]",
        headers={**auth, "content-type": "application/json"},
    )
    assert_error(result, 400, "VALIDATION_ERROR")
    assert _runs() == 1


def test_documents_over_the_limit_are_413_and_create_nothing(client, auth, worker):
    half = "x" * (MAX_DOCUMENT_BYTES // 2 + 10)
    steps = [{"type": "task", "name": "big", "handler": "echo", "config": {"a": half}}, SEND]
    original_id = run_to_end(client, auth, steps)
    big = "x" * MAX_DOCUMENT_BYTES

    for body in (
        {"fromStep": "send", "state": {"b": big}},
        {"fromStep": "send", "input": {"b": big}},
        # Each under the limit, but not the state they make together.
        {"fromStep": "send", "state": {"b": half}},
    ):
        assert_error(post_rerun(client, auth, original_id, **body), 413, "PAYLOAD_TOO_LARGE")
    assert _runs() == 1
    new_run_of(
        post_rerun(client, auth, original_id, fromStep="send", state={"a": "small"}), original_id
    )


# Idempotency


def test_an_idempotency_key_gives_the_rerun_it_made(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS)
    body = {"fromStep": "second", "idempotencyKey": "again-1"}

    made = new_run_of(post_rerun(client, auth, original_id, **body), original_id)
    repeated = post_rerun(client, auth, original_id, **{**body, "fromStep": "third"})

    assert repeated.status_code == 200, repeated.text
    assert repeated.json["data"]["id"] == made["id"]
    assert repeated.json["data"]["idempotencyKey"] == "again-1"
    assert _runs() == 2
    # A key is the workspace's: a run created with it is what a rerun with it gives.
    created = post_run(
        client, auth, WorkflowRun.get_by_id(original_id).definition_id, idempotencyKey="plain"
    )
    same = post_rerun(client, auth, original_id, fromStep="second", idempotencyKey="plain")
    assert same.status_code == 200 and same.json["data"]["id"] == created.json["data"]["id"]


# Runs whose history does not tell


def test_a_run_from_before_step_runs_kept_their_updates_is_409(client, auth, workspace):
    run = run_states.completed(workspace[0])
    WorkflowRun.update(legacy_history=True).where(WorkflowRun.id == run.id).execute()

    error = assert_error(post_rerun(client, auth, run.id, fromStep="work"), 409, "CONFLICT")

    assert "not known" in error["message"]
    assert _runs() == 1


def test_step_runs_that_do_not_add_up_to_the_state_are_409(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS)
    StepRun.update(state_updates={"total": 0}).where(
        (StepRun.run == original_id) & (StepRun.step_name == "third")
    ).execute()

    assert_error(post_rerun(client, auth, original_id, fromStep="second"), 409, "CONFLICT")
    assert _runs() == 1


def test_the_migration_marks_the_runs_that_existed_and_no_later_one(workspace):
    migration = importlib.import_module("models.migrations.0011_reruns")
    old, new = run_states.completed(workspace[0]), None
    with db.atomic() as transaction:
        migration.down(None, db)
        migration.up(None, db)
        new = run_states.completed(workspace[0])
        flags = dict(db.execute_sql("SELECT id, legacy_history FROM workflow_run").fetchall())
        transaction.rollback()  # the schema as it was, and neither run's flag
    assert flags == {old.id: True, new.id: None}
    assert WorkflowRun.get_by_id(old.id).legacy_history is None
