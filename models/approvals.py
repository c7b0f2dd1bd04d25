"""Approval requests: a human's decision on a snapshot of a run's state, for an approval step."""

from __future__ import annotations

import datetime

import peewee

from models import statuses
from models.base import BaseModel, utcnow
from models.runs import StepRun, WorkflowRun
from models.workspaces import Workspace

APPROVED = "approved"
REJECTED = "rejected"
EDITED = "edited"
DECISIONS = (APPROVED, REJECTED, EDITED)


class ApprovalRequest(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    run = peewee.ForeignKeyField(WorkflowRun, backref="approval_requests", on_delete="CASCADE")
    step_run = peewee.ForeignKeyField(StepRun, on_delete="CASCADE")
    #: The attempt of the step run that asked: a retried approval step asks afresh.
    attempt = peewee.IntegerField()
    step_name = peewee.CharField(max_length=100)
    content_key = peewee.CharField(max_length=200)
    #: A snapshot of `state[content_key]` when the request was made.
    content = peewee.JSONField(null=True)
    prompt = peewee.TextField(null=True)
    decision = peewee.CharField(max_length=20, null=True)
    decided_by = peewee.CharField(max_length=200, null=True)
    decided_at = peewee.DateTimeField(null=True)
    edited_content = peewee.JSONField(null=True)
    #: When the run stopped waiting on this request without a decision (cancelled, or the
    #: approval step failed: a timeout...). Never set with `decided_at`: a request is pending,
    #: decided or closed.
    closed_at = peewee.DateTimeField(null=True)
    expires_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


def request_for(step_run: StepRun) -> ApprovalRequest | None:
    """The approval request of a step run's current attempt, if it asked already."""
    return (
        ApprovalRequest.select()
        .where(
            (ApprovalRequest.step_run == step_run.id)
            & (ApprovalRequest.attempt == step_run.attempt)
        )
        .first()
    )


def approval_request_in_workspace(workspace_id: str, request_id: str) -> ApprovalRequest | None:
    """The approval request with this id in the workspace; None when it has none."""
    return (
        ApprovalRequest.select()
        .where((ApprovalRequest.id == request_id) & (ApprovalRequest.workspace == workspace_id))
        .first()
    )


def approval_requests_of_workspace(
    workspace_id: str, pending: bool | None = None
) -> peewee.ModelSelect:
    """The workspace's approval requests, unexecuted, newest first (by `id`).

    `pending=True`: undecided, and the run still waits on it (PAUSED at that step run's
    attempt); `pending=False`: every other request, decided or closed; None: every request.
    The two filters split the requests whatever `closed_at` says.
    """
    query = ApprovalRequest.select().where(ApprovalRequest.workspace == workspace_id)
    if pending is True:
        query = query.where(_awaited())
    elif pending is False:
        query = query.where(~_awaited())
    # Ids are time-sortable, and (workspace_id, id) is indexed.
    return query.order_by(ApprovalRequest.id.desc())


def _awaited() -> peewee.Expression:
    """True of a request nobody decided whose run is still PAUSED at that step run's attempt.

    An EXISTS, so that its negation is never NULL: a run with no current step run is not
    waiting on anything.
    """
    waiting = (
        StepRun.select(StepRun.id)
        .join(WorkflowRun, on=WorkflowRun.current_step_run_id == StepRun.id)
        .where(
            (StepRun.id == ApprovalRequest.step_run)
            & (StepRun.attempt == ApprovalRequest.attempt)
            & (WorkflowRun.id == ApprovalRequest.run)
            & (WorkflowRun.status == statuses.PAUSED)
        )
    )
    return ApprovalRequest.decision.is_null() & peewee.fn.EXISTS(waiting)


def close_request(step_run: StepRun, now: datetime.datetime) -> None:
    """Close the undecided request of the step run's attempt, if it asked: its run no longer
    waits on it (cancelled, or the approval step failed). Written in the run change's
    transaction, which the run's version fences against a decision."""
    (
        ApprovalRequest.update(closed_at=now)
        .where(
            (ApprovalRequest.step_run == step_run.id)
            & (ApprovalRequest.attempt == step_run.attempt)
            & ApprovalRequest.decision.is_null()
            & ApprovalRequest.closed_at.is_null()
        )
        .execute()
    )
