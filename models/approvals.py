"""Approval requests: a human's decision on a snapshot of a run's state, for an approval step."""

from __future__ import annotations

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

    `pending=True`: undecided, and the run still paused at that request; `pending=False`:
    decided; None: every request.
    """
    query = ApprovalRequest.select().where(ApprovalRequest.workspace == workspace_id)
    if pending is True:
        query = _still_awaited(query)
    elif pending is False:
        query = query.where(ApprovalRequest.decision.is_null(False))
    # Ids are time-sortable, and (workspace_id, id) is indexed.
    return query.order_by(ApprovalRequest.id.desc())


def _still_awaited(query: peewee.ModelSelect) -> peewee.ModelSelect:
    """Requests nobody decided whose run is still PAUSED at that step run's attempt."""
    return (
        query.join(WorkflowRun, on=ApprovalRequest.run == WorkflowRun.id)
        .switch(ApprovalRequest)
        .join(StepRun, on=ApprovalRequest.step_run == StepRun.id)
        .where(
            ApprovalRequest.decision.is_null()
            & (WorkflowRun.status == statuses.PAUSED)
            & (WorkflowRun.current_step_run_id == ApprovalRequest.step_run)
            & (StepRun.attempt == ApprovalRequest.attempt)
        )
    )
