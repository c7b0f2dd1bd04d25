"""Approval requests as Stevora's clients decide them (SPEC section 14).

A Stevora client posts `editedContent` with any decision; only `edited` uses it.
"""

from __future__ import annotations

import pytest

from models import statuses
from models.approvals import ApprovalRequest
from models.runs import StepRun, WorkflowRun
from tests import run_states
from tests.api_support import assert_error
from tests.support import create_run_over_http, wait_for_run

WRITE = {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}}
REVIEW = {"type": "approval", "name": "review", "contentKey": "draft", "prompt": "Send it?"}
SEND = {"type": "task", "name": "send", "handler": "echo", "config": {"sent": True}}


def _decide(client, auth, request_id: str, body: dict):
    path = f"/v1/approval-requests/{request_id}/decide"
    return client.simulate_post(path, json=body, headers=auth)


def _requests_of(run_id: str) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.select().where(ApprovalRequest.run == run_id).order_by(ApprovalRequest.id)
    )


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
    assert (stored.decision, stored.edited_content) == (None, None)
    assert WorkflowRun.get_by_id(run.id).version == run.version
    assert broker.get_queue_message_counts("steps")[0] == 0
