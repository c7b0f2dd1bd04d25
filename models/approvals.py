"""Approval requests: a human's decision on a snapshot of a run's state, for an approval step."""

from __future__ import annotations

import peewee

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
