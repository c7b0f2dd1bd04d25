"""Calls to model providers made by LLM steps: what each cost, for the cost endpoints."""

from __future__ import annotations

import peewee

from models.base import BaseModel, utcnow
from models.runs import StepRun, WorkflowRun
from models.workspaces import Workspace


class LlmCall(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    run = peewee.ForeignKeyField(WorkflowRun, backref="llm_calls", on_delete="CASCADE")
    step_run = peewee.ForeignKeyField(StepRun, on_delete="CASCADE")
    attempt = peewee.IntegerField()
    provider = peewee.CharField(max_length=30)
    model = peewee.CharField(max_length=200)
    input_tokens = peewee.IntegerField()
    output_tokens = peewee.IntegerField()
    cost_usd = peewee.DecimalField(max_digits=18, decimal_places=8)
    duration_ms = peewee.IntegerField()
    #: "completed" or "failed".
    outcome = peewee.CharField(max_length=20)
    error = peewee.JSONField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


def insert_calls(rows: list[dict]) -> None:
    """Store the provider calls of one step attempt (rows of this table's columns)."""
    LlmCall.insert_many(rows).execute()
