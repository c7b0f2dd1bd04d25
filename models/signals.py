"""Signals sent to runs: over REST (resume) or straight through the broker.

A broker signal may arrive before its run reaches the step that waits for it; it is kept,
unconsumed, until then. `signal_key` is the sender's `signalId`: one row per key and run.
"""

from __future__ import annotations

import json
from typing import Any

import peewee

from models.base import BaseModel, utcnow
from models.db import db
from models.errors import RunConflict
from models.ids import new_id
from models.runs import StepRun, WorkflowRun
from models.workspaces import Workspace

FROM_API = "api"
FROM_BROKER = "broker"


class Signal(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    run = peewee.ForeignKeyField(WorkflowRun, backref="signals", on_delete="CASCADE")
    signal_type = peewee.CharField(max_length=200)
    payload = peewee.JSONField(default=dict)
    signal_key = peewee.CharField(max_length=255, null=True)
    source = peewee.CharField(max_length=10)
    consumed_at = peewee.DateTimeField(null=True)
    #: The step run that consumed it.
    step_run = peewee.ForeignKeyField(StepRun, null=True, on_delete="CASCADE")
    created_at = peewee.DateTimeField(default=utcnow)


def pending_signal(run_id: str, signal_type: str, step_run_id: str | None = None) -> Signal | None:
    """The signal a step of this type takes next: one a REST resume kept for this step run
    (`step_run_id`), else the oldest of this type the run has not consumed yet."""
    query = Signal.select().where(
        (Signal.run == run_id) & (Signal.signal_type == signal_type) & Signal.consumed_at.is_null()
    )
    if step_run_id is None:
        return query.order_by(Signal.id).first()
    kept_for_this_step = peewee.fn.COALESCE(Signal.step_run == step_run_id, False)
    return query.order_by(kept_for_this_step.desc(), Signal.id).first()


def signal_kept_for(run_id: str, step_run_id: str) -> Signal | None:
    """The unconsumed signal a REST resume kept for this step run, whatever its type."""
    return (
        Signal.select()
        .where(
            (Signal.run == run_id) & (Signal.step_run == step_run_id) & Signal.consumed_at.is_null()
        )
        .order_by(Signal.id)
        .first()
    )


def consume_signal(signal_id: str, step_run_id: str) -> None:
    """Mark a signal used up by the step run that took it.

    Raises:
      RunConflict: another step run consumed it first.
    """
    updated = (
        Signal.update(consumed_at=utcnow(), step_run=step_run_id)
        .where((Signal.id == signal_id) & Signal.consumed_at.is_null())
        .execute()
    )
    if updated != 1:
        raise RunConflict(f"signal {signal_id} was consumed meanwhile")


_STORE_FROM_BROKER = (
    "INSERT INTO signal (id, workspace_id, run_id, signal_type, payload, signal_key, source,"
    " created_at) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
    " ON CONFLICT (run_id, signal_key) DO NOTHING RETURNING id"
)


def store_broker_signal(
    workspace_id: str, run_id: str, signal_type: str, payload: dict[str, Any], signal_id: str
) -> bool:
    """Keep a signal that came through the broker; False when the run has one with this
    `signal_id` already."""
    cursor = db.execute_sql(
        _STORE_FROM_BROKER,
        (
            new_id("sig"),
            workspace_id,
            run_id,
            signal_type,
            json.dumps(payload),
            signal_id,
            FROM_BROKER,
            utcnow(),
        ),
    )
    return cursor.fetchone() is not None
