"""Workflow runs, their step runs and their event log.

Only `models.transitions` changes a run's or a step run's status or version.
"""

from __future__ import annotations

import peewee

from models.base import BaseModel, utcnow
from models.definitions import WorkflowDefinition
from models.workspaces import Workspace


class WorkflowRun(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, backref="runs", on_delete="CASCADE")
    definition = peewee.ForeignKeyField(WorkflowDefinition, backref="runs", on_delete="RESTRICT")
    status = peewee.CharField(max_length=20, index=True)
    current_step_index = peewee.IntegerField(null=True)
    current_step_name = peewee.CharField(max_length=100, null=True)
    #: The step run the run is at: the fence of every command about the current step.
    current_step_run_id = peewee.CharField(max_length=40, null=True)
    input = peewee.JSONField(default=dict)
    state = peewee.JSONField(default=dict)
    output = peewee.JSONField(null=True)
    error = peewee.JSONField(null=True)
    total_cost_cents = peewee.DecimalField(max_digits=16, decimal_places=6, default=0)
    #: Step runs started so far, loops included: bounded by the step limit.
    steps_executed = peewee.IntegerField(default=0)
    started_at = peewee.DateTimeField(null=True)
    completed_at = peewee.DateTimeField(null=True)
    failed_at = peewee.DateTimeField(null=True)
    cancelled_at = peewee.DateTimeField(null=True)
    #: When the clock should next look at this run (a timer, a retry, a timeout).
    next_run_at = peewee.DateTimeField(null=True, index=True)
    #: Until when a worker holds the current step attempt (`actors.leases`); NULL when none.
    leased_until = peewee.DateTimeField(null=True)
    idempotency_key = peewee.CharField(max_length=255, null=True)
    #: Optimistic-lock counter: one more for every event the run records.
    version = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("workspace", "idempotency_key"), True),
            (("workspace", "created_at"), False),
        )


class StepRun(BaseModel):
    run = peewee.ForeignKeyField(WorkflowRun, backref="step_runs", on_delete="CASCADE")
    step_index = peewee.IntegerField()
    step_name = peewee.CharField(max_length=100)
    step_type = peewee.CharField(max_length=30)
    status = peewee.CharField(max_length=20)
    attempt = peewee.IntegerField(default=1)
    output = peewee.JSONField(null=True)
    error = peewee.JSONField(null=True)
    started_at = peewee.DateTimeField(null=True)
    completed_at = peewee.DateTimeField(null=True)
    duration_ms = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


class RunEvent(BaseModel):
    run = peewee.ForeignKeyField(WorkflowRun, backref="events", on_delete="CASCADE")
    #: 1, 2, 3... within the run, with no gaps: the run's one total order of events.
    sequence = peewee.IntegerField()
    step_run = peewee.ForeignKeyField(StepRun, null=True, on_delete="CASCADE")
    event_type = peewee.CharField(max_length=40)
    payload = peewee.JSONField(default=dict)
    created_at = peewee.DateTimeField(default=utcnow)


# Workers read a run (and its step run) on every command. These are plain SQL through
# `Model.raw`: Peewee's query building costs three times the indexed read itself.


def run_by_id(run_id: str) -> WorkflowRun | None:
    return next(iter(WorkflowRun.raw("SELECT * FROM workflow_run WHERE id = %s", run_id)), None)


def step_run_by_id(step_run_id: str) -> StepRun | None:
    return next(iter(StepRun.raw("SELECT * FROM step_run WHERE id = %s", step_run_id)), None)


def events_of(run_id: str) -> list[RunEvent]:
    """A run's events in their one order, `sequence`."""
    return list(RunEvent.select().where(RunEvent.run == run_id).order_by(RunEvent.sequence))
