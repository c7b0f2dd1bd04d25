"""GET /v1/approval-requests (pending filter), GET /:id, POST /:id/decide.

Runs are PAUSED at an approval step through `RunChange` (tests/run_states.py); no worker runs
here, so a published `execute_step` stays in the `steps` queue to be counted.
"""

from __future__ import annotations

import threading

import falcon.testing
import pytest

from app.factory import create_app
from models import statuses
from models.approvals import ApprovalRequest
from models.config import current
from models.runs import RunEvent, StepRun, WorkflowRun
from models.transitions import RunChange
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, take_commands

#: The fields of an approval request, exactly (SPEC sections 7 and 14).
REQUEST_FIELDS = {
    "id",
    "workflowRunId",
    "stepRunId",
    "stepName",
    "contentKey",
    "content",
    "prompt",
    "decision",
    "decidedBy",
    "decidedAt",
    "editedContent",
    "expiresAt",
    "closedAt",
    "createdAt",
}


def _decide(client, auth, request_id: str, body=None, **kwargs):
    return client.simulate_post(
        f"/v1/approval-requests/{request_id}/decide", json=body, headers=auth, **kwargs
    )


def _list(client, auth, query: str = ""):
    return client.simulate_get("/v1/approval-requests", query_string=query, headers=auth)


def _queued_steps(broker) -> int:
    return broker.get_queue_message_counts("steps")[0]


def _unchanged(run: WorkflowRun, request: ApprovalRequest) -> None:
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.status, stored.version) == (run.status, run.version)
    assert ApprovalRequest.get_by_id(request.id).decision is None


# Listing and reading


def _three_requests(workspace, client, auth):
    """(waiting, decided, abandoned): one still awaited, one approved, one whose run was
    cancelled before anyone decided."""
    _, _, waiting = run_states.paused(workspace, "first")
    _, _, decided = run_states.paused(workspace, "second")
    abandoned_run, _, abandoned = run_states.paused(workspace, "third")
    assert _decide(client, auth, decided.id, {"decision": "approved"}).status_code == 200
    cancel = client.simulate_post(f"/v1/workflow-runs/{abandoned_run.id}/cancel", headers=auth)
    assert cancel.status_code == 200
    return waiting, decided, abandoned


def test_list_all_and_by_pending(client, auth, workspace, other_workspace):
    waiting, decided, abandoned = _three_requests(workspace[0], client, auth)
    run_states.paused(other_workspace[0])  # never listed here

    everything = _list(client, auth)
    assert everything.status_code == 200, everything.text
    assert [r["id"] for r in everything.json["data"]] == [abandoned.id, decided.id, waiting.id]
    assert everything.json["meta"] == {"page": 1, "pageSize": 1000, "total": 3, "totalPages": 1}
    assert all(set(r) == REQUEST_FIELDS for r in everything.json["data"])

    pending = _list(client, auth, "pending=true").json
    assert [r["id"] for r in pending["data"]] == [waiting.id]
    assert pending["meta"]["total"] == 1
    done = _list(client, auth, "pending=false").json
    assert [r["id"] for r in done["data"]] == [abandoned.id, decided.id]
    assert done["data"][1]["decision"] == "approved"
    assert done["data"][0]["decision"] is None and TIMESTAMP.match(done["data"][0]["closedAt"])

    second_page = _list(client, auth, "page=2&pageSize=2").json
    assert [r["id"] for r in second_page["data"]] == [waiting.id]
    assert second_page["meta"] == {"page": 2, "pageSize": 2, "total": 3, "totalPages": 2}


def test_a_request_of_an_earlier_attempt_is_not_pending(client, auth, workspace):
    run, step_run, stale = run_states.paused(workspace[0])
    # The approval step failed (a timeout) and its next attempt is PAUSED again, not yet
    # having asked afresh: the first attempt's request is no longer awaited.
    change = RunChange(run).move_step(step_run, statuses.FAILED, "STEP_FAILED")
    change.move(statuses.RUNNING, None).commit()
    retry = RunChange(run)
    retry.retry_step(step_run)
    retry.commit()
    change = RunChange(run).move_step(step_run, statuses.WAITING, None)
    change.move(statuses.PAUSED, "WORKFLOW_PAUSED").commit()
    assert StepRun.get_by_id(step_run.id).attempt == 2

    assert _list(client, auth, "pending=true").json["data"] == []
    assert _list(client, auth).json["meta"]["total"] == 1
    assert_error(_decide(client, auth, stale.id, {"decision": "approved"}), 409, "CONFLICT")
    assert ApprovalRequest.get_by_id(stale.id).decision is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pending=yes", "pending"),
        ("pending=TRUE", "pending"),
        ("pending=1", "pending"),
        ("pending=", "pending"),
        ("pending=true&pending=false", "pending"),
        ("page=0", "page"),
        ("pageSize=101", "pageSize"),
    ],
)
def test_bad_list_parameters_are_400(client, auth, query, field):
    assert_error(_list(client, auth, query), 400, "VALIDATION_ERROR", field)


def test_get_one(client, auth, workspace):
    run, step_run, request = run_states.paused(workspace[0], "draft text")
    result = client.simulate_get(f"/v1/approval-requests/{request.id}", headers=auth)
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert set(data) == REQUEST_FIELDS
    assert data["id"] == request.id and data["id"].startswith("apr_")
    assert data["workflowRunId"] == run.id and data["stepRunId"] == step_run.id
    assert data["stepName"] == "review" and data["contentKey"] == "draft"
    assert data["content"] == "draft text" and data["prompt"] == "Send it?"
    assert data["decision"] is None and data["decidedBy"] is None and data["decidedAt"] is None
    assert data["editedContent"] is None and data["expiresAt"] is None
    assert data["closedAt"] is None and TIMESTAMP.match(data["createdAt"])


def test_unknown_requests_are_404(client, auth, other_workspace):
    theirs_run, _, theirs = run_states.paused(other_workspace[0])
    for request_id in (theirs.id, f"apr_{'0' * 26}", "apr_nope", theirs_run.id):
        path = f"/v1/approval-requests/{request_id}"
        assert_error(client.simulate_get(path, headers=auth), 404, "NOT_FOUND")
        result = _decide(client, auth, request_id, {"decision": "approved"})
        assert_error(result, 404, "NOT_FOUND")
    _unchanged(theirs_run, theirs)


# Deciding


@pytest.mark.parametrize(
    ("body", "edited_content"),
    [
        ({"decision": "approved", "decidedBy": "ana@example.com"}, None),
        ({"decision": "rejected", "decidedBy": "ana@example.com"}, None),
        (
            {"decision": "edited", "decidedBy": "ana@example.com", "editedContent": {"v": 2}},
            {"v": 2},
        ),
    ],
)
def test_decide_wakes_the_run(client, auth, workspace, broker, body, edited_content):
    run, step_run, request = run_states.paused(workspace[0])
    result = _decide(client, auth, request.id, body)
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert set(data) == REQUEST_FIELDS and data["id"] == request.id
    assert data["decision"] == body["decision"] and data["decidedBy"] == "ana@example.com"
    assert TIMESTAMP.match(data["decidedAt"]) and data["editedContent"] == edited_content
    assert data["content"] == "hello"  # the snapshot stays as it was asked

    stored = ApprovalRequest.get_by_id(request.id)
    assert stored.decision == body["decision"] and stored.decided_by == "ana@example.com"
    assert stored.decided_at is not None and stored.edited_content == edited_content
    again = client.simulate_get(f"/v1/approval-requests/{request.id}", headers=auth)
    assert again.json["data"] == data

    stored_run = WorkflowRun.get_by_id(run.id)
    assert stored_run.status == "RUNNING" and stored_run.next_run_at is not None
    assert stored_run.version == run.version + 1
    assert StepRun.get_by_id(step_run.id).status == "RUNNING"
    event = RunEvent.select().where(RunEvent.run == run.id).order_by(RunEvent.id.desc()).get()
    assert event.event_type == "APPROVAL_DECIDED" and event.step_run_id == step_run.id
    assert event.payload["approvalRequestId"] == request.id
    assert event.payload["decision"] == body["decision"]
    assert take_commands(broker, "steps") == [("execute_step", [run.id, step_run.id, 0, 1])]


def test_decided_by_is_optional(client, auth, workspace):
    _, _, request = run_states.paused(workspace[0])
    result = _decide(client, auth, request.id, {"decision": "approved"})
    assert result.status_code == 200 and result.json["data"]["decidedBy"] is None


@pytest.mark.parametrize("content", ["plain text", 0, False, [1, 2], {"nested": {"a": None}}])
def test_edited_content_may_be_any_json_value(client, auth, workspace, content):
    _, _, request = run_states.paused(workspace[0])
    result = _decide(client, auth, request.id, {"decision": "edited", "editedContent": content})
    assert result.status_code == 200, result.text
    assert ApprovalRequest.get_by_id(request.id).edited_content == content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "APPROVED"}, "decision"),
        ({"decision": None}, "decision"),
        ({"decision": "edited"}, "editedContent"),
        ({"decision": "edited", "editedContent": None}, "editedContent"),
        ({"decision": "approved", "decidedBy": ""}, "decidedBy"),
        ({"decision": "approved", "decidedBy": "d" * 201}, "decidedBy"),
        ({"decision": "approved", "decidedBy": 7}, "decidedBy"),
        ({"decision": "approved", "comment": "ok"}, "comment"),
    ],
)
def test_decide_validates_the_body(client, auth, workspace, broker, body, field):
    run, _, request = run_states.paused(workspace[0])
    assert_error(_decide(client, auth, request.id, body), 400, "VALIDATION_ERROR", field)
    _unchanged(run, request)
    assert _queued_steps(broker) == 0


def test_decide_without_a_body_is_400(client, auth, workspace):
    run, _, request = run_states.paused(workspace[0])
    assert_error(_decide(client, auth, request.id), 400, "VALIDATION_ERROR")
    _unchanged(run, request)


def test_edited_content_over_256_kib_is_413(client, auth, workspace):
    run, _, request = run_states.paused(workspace[0])
    body = {"decision": "edited", "editedContent": "x" * (256 * 1024)}
    assert_error(_decide(client, auth, request.id, body), 413, "PAYLOAD_TOO_LARGE")
    _unchanged(run, request)


def test_deciding_twice_is_409(client, auth, workspace, broker):
    run, _, request = run_states.paused(workspace[0])
    first = _decide(client, auth, request.id, {"decision": "approved", "decidedBy": "ana"})
    assert first.status_code == 200
    second = _decide(client, auth, request.id, {"decision": "rejected", "decidedBy": "bo"})
    error = assert_error(second, 409, "CONFLICT")
    assert "already decided" in error["message"]
    stored = ApprovalRequest.get_by_id(request.id)
    assert (stored.decision, stored.decided_by) == ("approved", "ana")
    assert WorkflowRun.get_by_id(run.id).version == run.version + 1
    assert _queued_steps(broker) == 1


def test_deciding_for_a_cancelled_run_is_409(client, auth, workspace, broker):
    run, _, request = run_states.paused(workspace[0])
    cancel = client.simulate_post(f"/v1/workflow-runs/{run.id}/cancel", headers=auth)
    assert cancel.status_code == 200
    run = WorkflowRun.get_by_id(run.id)
    result = _decide(client, auth, request.id, {"decision": "approved"})
    error = assert_error(result, 409, "CONFLICT")
    assert "closed" in error["message"] and "CANCELLED" in error["message"]
    _unchanged(run, request)
    assert _queued_steps(broker) == 0


def test_two_concurrent_decides_one_wins(auth, workspace):
    app = create_app(current())
    for _ in range(5):
        run, _, request = run_states.paused(workspace[0])
        barrier = threading.Barrier(2)
        results = []

        def decide(decision, request_id=request.id, barrier=barrier, results=results):
            client = falcon.testing.TestClient(app)
            barrier.wait()
            results.append(_decide(client, auth, request_id, {"decision": decision}))

        threads = [threading.Thread(target=decide, args=(d,)) for d in ("approved", "rejected")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json["data"]["decision"]
        assert ApprovalRequest.get_by_id(request.id).decision == winner
        decided = RunEvent.select().where(
            (RunEvent.run == run.id) & (RunEvent.event_type == "APPROVAL_DECIDED")
        )
        assert decided.count() == 1
        assert WorkflowRun.get_by_id(run.id).version == run.version + 1


# Auth


def _routes(request_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/v1/approval-requests", None),
        ("GET", f"/v1/approval-requests/{request_id}", None),
        ("POST", f"/v1/approval-requests/{request_id}/decide", {"decision": "approved"}),
    ]


def test_approval_routes_need_a_key(client, workspace):
    run, _, request = run_states.paused(workspace[0])
    for method, path, body in _routes(request.id):
        result = client.simulate_request(method, path, json=body)
        assert_error(result, 401, "AUTH_ERROR")
        unknown = {"x-api-key": "stv_" + "x" * 40}
        result = client.simulate_request(method, path, json=body, headers=unknown)
        assert_error(result, 401, "AUTH_ERROR")
    _unchanged(run, request)


def test_another_workspace_key_sees_nothing(client, workspace, other_workspace):
    run, _, request = run_states.paused(workspace[0])
    theirs = {"x-api-key": other_workspace[1]}
    listed = _list(client, theirs)
    assert listed.status_code == 200 and listed.json["data"] == []
    for method, path, body in _routes(request.id)[1:]:
        result = client.simulate_request(method, path, json=body, headers=theirs)
        assert_error(result, 404, "NOT_FOUND")
    _unchanged(run, request)
