"""Workflow runs, their step runs and their event log.

Only `models.transitions` changes a run's or a step run's status or version.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import peewee

from models import statuses
from models.base import BaseModel, utcnow
from models.definitions import WorkflowDefinition
from models.ids import is_id, new_id
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
    #: Why a PAUSED run is held (`statuses.PAUSED_REASONS`); NULL when it is not PAUSED.
    paused_reason = peewee.CharField(max_length=20, null=True)
    #: The status a manual pause took the run from, and unpause gives back (`models.pausing`).
    paused_from = peewee.CharField(max_length=20, null=True)
    #: The timer a manual pause keeps aside, since a manually paused run holds none.
    paused_due_at = peewee.DateTimeField(null=True)
    idempotency_key = peewee.CharField(max_length=255, null=True)
    #: The schedule whose fire started the run (`models.schedules`); None for other runs.
    schedule_id = peewee.CharField(max_length=40, null=True)
    #: The run this one reruns (`models.reruns`); None for a run started from its definition.
    rerun_of = peewee.CharField(max_length=40, null=True)
    #: The state the run started with; None for `{}` (every run but a rerun).
    initial_state = peewee.JSONField(null=True)
    #: True for runs created before their step runs said what they merged into state
    #: (migration 0011): their state at each step is not known. None for every other run.
    legacy_history = peewee.BooleanField(null=True)
    #: The run's concurrency key (`models.concurrency`); None when its definition has no limit.
    concurrency_key = peewee.TextField(null=True)
    #: Why a PENDING run is not started yet: "concurrency" (no slot free), or None.
    queued_reason = peewee.CharField(max_length=20, null=True)
    #: True from the run's move to RUNNING until its move to a final status, when limited.
    holds_slot = peewee.BooleanField(default=False)
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
    #: What the step run's attempts merged into the run's state, when that is not its `output`
    #: (None: it is, as for a task); `models.state_history` folds them into its past states.
    state_updates = peewee.JSONField(null=True)


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


def select_runs() -> peewee.ModelSelect:
    """Runs with the name and version of their definition, which every run answer shows."""
    return WorkflowRun.select(
        WorkflowRun, WorkflowDefinition.id, WorkflowDefinition.name, WorkflowDefinition.version
    ).join(WorkflowDefinition)


def runs_of_workspace(
    workspace_id: str, status: str | None = None, definition_id: str | None = None
) -> peewee.ModelSelect:
    """The workspace's runs with `select_runs`' columns, unexecuted, newest first: by
    `created_at`, then `id`; only those in `status`, or of `definition_id`, when given.

    A `definition_id` that is not a definition's id (`wfdef_...`) matches no run (SPEC section
    14). It is not compared at all: it may hold what PostgreSQL text cannot (a NUL).
    """
    query = select_runs().where(WorkflowRun.workspace == workspace_id)
    if status is not None:
        query = query.where(WorkflowRun.status == status)
    if definition_id is not None:
        if is_id(definition_id, "wfdef"):
            query = query.where(WorkflowRun.definition == definition_id)
        else:
            query = query.where(peewee.SQL("false"))
    return query.order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())


def run_in_workspace(workspace_id: str, run_id: str) -> WorkflowRun | None:
    """The run with this id in the workspace, with `select_runs`' columns; None when it has
    none."""
    return (
        select_runs()
        .where((WorkflowRun.id == run_id) & (WorkflowRun.workspace == workspace_id))
        .first()
    )


#: The insert every new run makes: plain SQL on this hot path, like `run_by_id`.
_INSERT_RUN = (
    "INSERT INTO workflow_run (id, workspace_id, definition_id, status, input, state,"
    " idempotency_key, schedule_id, next_run_at, concurrency_key, version, created_at,"
    " updated_at) VALUES (%s, %s, %s, %s, %s::jsonb, '{}'::jsonb, %s, %s, %s, %s, 0, %s, %s)"
    " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING *"
)


def insert_run(
    workspace_id: str,
    definition_id: str,
    run_input: dict[str, Any],
    idempotency_key: str | None,
    next_run_at: datetime.datetime,
    schedule_id: str | None = None,
    concurrency_key: str | None = None,
) -> WorkflowRun | None:
    """Insert a PENDING run; None when the workspace has a run with this idempotency key.

    Every new run is inserted here: the API's (`app.run_creation`) and the clock's, for a
    schedule's fire (`models.schedules`).

    `ON CONFLICT DO NOTHING` makes two concurrent inserts with one key insert one row: the
    second waits for the first to commit, then inserts nothing.
    """
    now = utcnow()
    rows = WorkflowRun.raw(
        _INSERT_RUN,
        new_id("wfrun"),
        workspace_id,
        definition_id,
        statuses.PENDING,
        json.dumps(run_input),
        idempotency_key,
        schedule_id,
        next_run_at,
        concurrency_key,
        now,
        now,
    )
    return next(iter(rows), None)


def run_by_idempotency_key(workspace_id: str, idempotency_key: str) -> WorkflowRun:
    """The run a workspace created with this idempotency key, with `select_runs`' columns."""
    return (
        select_runs()
        .where(
            (WorkflowRun.workspace == workspace_id)
            & (WorkflowRun.idempotency_key == idempotency_key)
        )
        .get()
    )


def latest_step_runs(run_id: str, limit: int) -> list[StepRun]:
    """A run's latest `limit` step runs, oldest first (by `id`, which is time-sortable)."""
    latest = StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id.desc()).limit(limit)
    return list(latest)[::-1]


def step_run_count(run_id: str) -> int:
    """How many step runs a run has, loops included."""
    return StepRun.select().where(StepRun.run == run_id).count()


def select_events(run_id: str) -> peewee.ModelSelect:
    """A run's events, unexecuted, in their one order: `sequence`."""
    return RunEvent.select().where(RunEvent.run == run_id).order_by(RunEvent.sequence)


def events_of(run_id: str) -> list[RunEvent]:
    """A run's events in their one order, `sequence`."""
    return list(select_events(run_id))
