"""Approval requests and API keys as Stevora's clients use them (SPEC section 14).

A Stevora client never pages: it reads `GET /v1/approval-requests` and `GET /v1/api-keys`
whole, and `meta.total` tells it when there were more than the 1,000 it got. `pending=true` is
what a person may still decide; every other request, decided or closed because its run went
on without a decision, is in `pending=false`, a closed one with `closedAt`. A client posts
`editedContent` with any decision; only `edited` uses it.
"""

from __future__ import annotations

import datetime
import importlib

import pytest

from models import statuses
from models.approvals import ApprovalRequest
from models.base import utcnow
from models.db import db
from models.ids import new_id
from models.operations import cancel_run
from models.runs import RunEvent, StepRun, WorkflowRun
from models.transitions import RunChange
from models.workspaces import ApiKey
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, wait_until
from tests.support import create_run_over_http, wait_for_run

WRITE = {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}}
REVIEW = {"type": "approval", "name": "review", "contentKey": "draft", "prompt": "Send it?"}
SEND = {"type": "task", "name": "send", "handler": "echo", "config": {"sent": True}}


def _list(client, auth, path: str = "/v1/approval-requests", query: str = ""):
    return client.simulate_get(path, query_string=query, headers=auth)


def _ids(result) -> list[str]:
    assert result.status_code == 200, result.text
    return [item["id"] for item in result.json["data"]]


def _decide(client, auth, request_id: str, body: dict):
    path = f"/v1/approval-requests/{request_id}/decide"
    return client.simulate_post(path, json=body, headers=auth)


def _requests_of(run_id: str) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.select().where(ApprovalRequest.run == run_id).order_by(ApprovalRequest.id)
    )


# Lists read whole


def test_the_approval_list_without_paging_has_every_request(client, auth, workspace):
    made = [run_states.paused(workspace[0])[2].id for _ in range(23)]

    listed = _list(client, auth)

    assert _ids(listed) == made[::-1]
    assert listed.json["meta"] == {"page": 1, "pageSize": 1000, "total": 23, "totalPages": 1}
    assert _ids(_list(client, auth, query="pending=true")) == made[::-1]
    assert ApprovalRequest.select().count() == 23


def test_the_key_list_without_paging_has_every_key(client, auth, workspace):
    for n in range(23):
        created = client.simulate_post("/v1/api-keys", json={"name": f"k{n}"}, headers=auth)
        assert created.status_code == 201, created.text

    listed = _list(client, auth, "/v1/api-keys")

    stored = ApiKey.select().where(ApiKey.workspace == workspace[0].id)
    assert sorted(_ids(listed)) == sorted(key.id for key in stored)
    assert [key["name"] for key in listed.json["data"]][:2] == ["k22", "k21"]
    assert listed.json["meta"] == {"page": 1, "pageSize": 1000, "total": 24, "totalPages": 1}


def _many_keys(workspace, count: int) -> None:
    start = utcnow() - datetime.timedelta(hours=1)
    rows = [
        {
            "id": new_id("key"),
            "workspace": workspace.id,
            "name": f"k{n}",
            "key_hash": f"{n:064x}",
            "created_at": start + datetime.timedelta(milliseconds=n),
        }
        for n in range(count)
    ]
    ApiKey.insert_many(rows).execute()


def _many_closed_requests(workspace, count: int) -> None:
    """`count` more requests nobody decided, of earlier attempts of a cancelled run's step."""
    run, step_run, request = run_states.paused(workspace)
    cancel_run(run.id)
    closed = ApprovalRequest.get_by_id(request.id)
    rows = [
        {
            "id": new_id("apr"),
            "workspace": workspace.id,
            "run": run.id,
            "step_run": step_run.id,
            "attempt": attempt,
            "step_name": closed.step_name,
            "content_key": closed.content_key,
            "content": closed.content,
            "created_at": closed.created_at,
            "closed_at": closed.closed_at,
        }
        for attempt in range(2, count + 1)
    ]
    ApprovalRequest.insert_many(rows).execute()


def test_a_whole_list_stops_at_1000_and_meta_says_how_many_exist(client, auth, workspace):
    _many_keys(workspace[0], 1_000)  # and the workspace's default key
    _many_closed_requests(workspace[0], 1_003)

    keys = _list(client, auth, "/v1/api-keys")
    requests = _list(client, auth, query="pending=false")

    assert len(_ids(keys)) == 1_000 and len(set(_ids(keys))) == 1_000
    assert keys.json["meta"] == {"page": 1, "pageSize": 1000, "total": 1001, "totalPages": 2}
    assert keys.json["data"][0]["name"] == "default"  # newest first
    assert len(_ids(requests)) == 1_000
    assert requests.json["meta"] == {"page": 1, "pageSize": 1000, "total": 1003, "totalPages": 2}
    assert ApprovalRequest.select().count() == 1_003


@pytest.mark.parametrize("path", ["/v1/approval-requests", "/v1/api-keys"])
def test_with_page_or_page_size_lists_page_as_before(client, auth, workspace, path):
    for _ in range(23):
        run_states.paused(workspace[0])
    _many_keys(workspace[0], 22)  # 23 keys with the default one

    first = _list(client, auth, path, "pageSize=5")
    third = _list(client, auth, path, "page=2")

    assert len(_ids(first)) == 5
    assert first.json["meta"] == {"page": 1, "pageSize": 5, "total": 23, "totalPages": 5}
    assert len(_ids(third)) == 3
    assert third.json["meta"] == {"page": 2, "pageSize": 20, "total": 23, "totalPages": 2}


@pytest.mark.parametrize("path", ["/v1/approval-requests", "/v1/api-keys"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=", "page"),
        ("page=x", "page"),
        ("pageSize=1000", "pageSize"),
        ("pageSize=", "pageSize"),
        ("pageSize=0", "pageSize"),
    ],
)
def test_bad_paging_is_still_400(client, auth, path, query, field):
    assert_error(_list(client, auth, path, query), 400, "VALIDATION_ERROR", field)


# pending, decided and closed


def test_each_request_is_in_exactly_one_of_pending_true_and_false(client, auth, workspace):
    _, _, waiting = run_states.paused(workspace[0])
    _, _, decided = run_states.paused(workspace[0])
    cancelled_run, _, cancelled = run_states.paused(workspace[0])
    assert _decide(client, auth, decided.id, {"decision": "rejected"}).status_code == 200
    cancel = client.simulate_post(f"/v1/workflow-runs/{cancelled_run.id}/cancel", headers=auth)
    assert cancel.status_code == 200, cancel.text

    pending = _list(client, auth, query="pending=true")
    done = _list(client, auth, query="pending=false")

    assert _ids(pending) == [waiting.id]
    assert _ids(done) == [cancelled.id, decided.id]
    closed, rejected = done.json["data"]
    assert closed["decision"] is None and TIMESTAMP.match(closed["closedAt"])
    assert rejected["decision"] == "rejected" and rejected["closedAt"] is None
    assert pending.json["data"][0]["closedAt"] is None
    stored = WorkflowRun.get_by_id(cancelled_run.id)
    assert ApprovalRequest.get_by_id(cancelled.id).closed_at == stored.cancelled_at
    assert ApprovalRequest.get_by_id(decided.id).closed_at is None
    assert ApprovalRequest.get_by_id(waiting.id).closed_at is None


def test_a_request_whose_approval_timed_out_is_closed(client, auth, worker, clock):
    steps = [WRITE, {**REVIEW, "timeoutMs": 200}, SEND]
    run_id = create_run_over_http(client, auth, steps)

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED and run.error["code"] == "APPROVAL_TIMEOUT"
    [request] = _requests_of(run_id)
    assert request.decision is None and request.closed_at == run.failed_at
    [listed] = _list(client, auth, query="pending=false").json["data"]
    assert listed["id"] == request.id and TIMESTAMP.match(listed["closedAt"])
    assert _ids(_list(client, auth, query="pending=true")) == []


def test_a_timed_out_attempt_is_closed_and_the_retry_asks_afresh(client, auth, worker, clock):
    # Given an approval step that times out once, then asks again on its second attempt
    review = {**REVIEW, "timeoutMs": 2_000, "retry": {"maxAttempts": 2, "backoffMs": 100}}
    run_id = create_run_over_http(client, auth, [WRITE, review, SEND])
    first, second = wait_until(lambda: len(_requests_of(run_id)) == 2 and _requests_of(run_id))

    pending = _list(client, auth, query="pending=true")
    done = _list(client, auth, query="pending=false")
    late = _decide(client, auth, first.id, {"decision": "approved"})

    # Then the first attempt's request is closed, and deciding it is a 409 that says so
    assert _ids(pending) == [second.id] and _ids(done) == [first.id]
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.decision is None and first.closed_at <= second.created_at
    failed = RunEvent.get((RunEvent.run == run_id) & (RunEvent.event_type == "STEP_FAILED"))
    assert first.closed_at == failed.created_at
    error = assert_error(late, 409, "CONFLICT")
    assert "closed" in error["message"]
    assert ApprovalRequest.get_by_id(first.id).decision is None
    assert ApprovalRequest.get_by_id(first.id).closed_at == first.closed_at

    # And the second is decided as a Stevora client sends it, editedContent and all
    body = {"decision": "approved", "decidedBy": "lin", "editedContent": "v2"}
    assert _decide(client, auth, second.id, body).status_code == 200
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED, run.error
    assert run.state["draft"] == "v1" and run.state["review"]["decision"] == "approved"
    decided = ApprovalRequest.get_by_id(second.id)
    assert decided.edited_content is None and decided.closed_at is None


def test_deciding_a_closed_request_is_409_and_changes_nothing(client, auth, workspace, broker):
    run, _, request = run_states.paused(workspace[0])
    cancel = client.simulate_post(f"/v1/workflow-runs/{run.id}/cancel", headers=auth)
    assert cancel.status_code == 200
    closed_at = ApprovalRequest.get_by_id(request.id).closed_at
    version = WorkflowRun.get_by_id(run.id).version

    result = _decide(client, auth, request.id, {"decision": "edited", "editedContent": "v2"})

    error = assert_error(result, 409, "CONFLICT")
    assert "closed" in error["message"]
    stored = ApprovalRequest.get_by_id(request.id)
    assert (stored.decision, stored.edited_content, stored.closed_at) == (None, None, closed_at)
    assert WorkflowRun.get_by_id(run.id).version == version
    assert broker.get_queue_message_counts("steps")[0] == 0


def test_a_decided_request_stays_decided_when_its_run_is_cancelled(client, auth, workspace):
    run, _, request = run_states.paused(workspace[0])
    assert _decide(client, auth, request.id, {"decision": "approved"}).status_code == 200

    cancel = client.simulate_post(f"/v1/workflow-runs/{run.id}/cancel", headers=auth)

    assert cancel.status_code == 200, cancel.text
    stored = ApprovalRequest.get_by_id(request.id)
    assert stored.decision == "approved" and stored.closed_at is None
    assert _ids(_list(client, auth, query="pending=false")) == [request.id]


def test_the_migration_closes_requests_a_run_left_before_it(client, auth, workspace):
    # Given requests as they were before closed_at: one cancelled, one timed out, one
    # waiting, one decided
    cancelled_run, _, cancelled = run_states.paused(workspace[0])
    cancel_run(cancelled_run.id)
    timed_out_run, step_run, timed_out = run_states.paused(workspace[0])
    error = {"code": "APPROVAL_TIMEOUT", "message": "no decision within 200 ms"}
    change = RunChange(timed_out_run).move_step(step_run, statuses.FAILED, "STEP_FAILED")
    change.move(statuses.FAILED, "WORKFLOW_FAILED", {"error": error}, error=error).commit()
    _, _, waiting = run_states.paused(workspace[0])
    _, _, decided = run_states.paused(workspace[0])
    assert _decide(client, auth, decided.id, {"decision": "approved"}).status_code == 200
    ApprovalRequest.update(closed_at=None).execute()

    migration = importlib.import_module("models.migrations.0007_approval_closed_at")
    with db.atomic():
        for statement in migration.STATEMENTS[1:]:
            db.execute_sql(statement)

    cancelled_at = WorkflowRun.get_by_id(cancelled_run.id).cancelled_at
    assert ApprovalRequest.get_by_id(cancelled.id).closed_at == cancelled_at
    failed_at = WorkflowRun.get_by_id(timed_out_run.id).failed_at
    assert ApprovalRequest.get_by_id(timed_out.id).closed_at == failed_at
    assert ApprovalRequest.get_by_id(waiting.id).closed_at is None
    assert ApprovalRequest.get_by_id(decided.id).closed_at is None


# editedContent with any decision


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approved", "editedContent": "a new draft"},
        {"decision": "approved", "editedContent": None},
        {"decision": "rejected", "editedContent": {"draft": "v2"}, "decidedBy": "lin"},
        {"decision": "rejected", "editedContent": None},
    ],
)
def test_edited_content_is_accepted_and_ignored_with_approved_and_rejected(
    client, auth, workspace, body
):
    run, step_run, request = run_states.paused(workspace[0])

    result = _decide(client, auth, request.id, body)

    assert result.status_code == 200, result.text
    assert result.json["data"]["editedContent"] is None
    stored = ApprovalRequest.get_by_id(request.id)
    assert (stored.decision, stored.edited_content) == (body["decision"], None)
    assert StepRun.get_by_id(step_run.id).status == statuses.RUNNING
    assert WorkflowRun.get_by_id(run.id).status == statuses.RUNNING


def test_an_approval_with_edited_content_keeps_the_draft(client, auth, worker):
    run_id = create_run_over_http(client, auth, [WRITE, REVIEW, SEND])
    wait_for_run(run_id, (statuses.PAUSED,))
    [request] = _requests_of(run_id)

    body = {"decision": "approved", "editedContent": "never used", "decidedBy": "lin"}
    decided = _decide(client, auth, request.id, body)

    assert decided.status_code == 200, decided.text
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED, run.error
    assert run.state["draft"] == "v1" and run.state["sent"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "edited"}, "editedContent"),
        ({"decision": "edited", "editedContent": None}, "editedContent"),
        ({"editedContent": "v2"}, "decision"),
        ({"decision": "approve", "editedContent": "v2"}, "decision"),
        ({"decision": "approved", "editedContent": "v2", "note": "ok"}, "note"),
    ],
)
def test_bad_decisions_are_still_400(client, auth, workspace, broker, body, field):
    run, _, request = run_states.paused(workspace[0])

    assert_error(_decide(client, auth, request.id, body), 400, "VALIDATION_ERROR", field)

    stored = ApprovalRequest.get_by_id(request.id)
    assert (stored.decision, stored.closed_at) == (None, None)
    assert WorkflowRun.get_by_id(run.id).version == run.version
    assert broker.get_queue_message_counts("steps")[0] == 0
