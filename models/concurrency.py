"""Concurrency limits (SPEC section 9): slots per (definition, key), counted in PostgreSQL.

A run of a definition with `concurrency` has a `concurrency_key` (its rendered `key`, or ""
without one). It holds a slot (`holds_slot`) from its move to RUNNING until its move to a final
status; `concurrency_slot.active` counts the holders of each key. Both move only in
`models.transitions`, in the transaction of the run's move, so a worker killed at any point
leaves them agreeing. Taking a slot is one fenced statement (`active < limit`): two workers
racing for the last one serialize on its row and one of them finds it taken.

A run that finds no slot stays PENDING, `queued_reason = "concurrency"`, and keeps its timer:
the clock re-sends its `start_run` now and then. A transaction that frees a slot, or takes one
and leaves some free, also brings the timer of the oldest queued run of that key to now, so the
clock starts it even when the command sent after the commit is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import peewee

from models.base import BaseModel
from models.db import db
from models.definitions import WorkflowDefinition, definition_by_id
from models.errors import RunConflict
from models.runs import WorkflowRun

logger = logging.getLogger(__name__)

#: The `queuedReason` of a run waiting for a slot.
QUEUED = "concurrency"

#: Most characters of a rendered key.
MAX_KEY_LENGTH = 255


class NoFreeSlot(RunConflict):
    """Every slot of the run's key is taken: the run cannot start (or be retried) now."""


class ConcurrencySlot(BaseModel):
    definition = peewee.ForeignKeyField(WorkflowDefinition, on_delete="CASCADE")
    key = peewee.TextField()
    #: Runs of this definition and key that hold a slot: started and not final.
    active = peewee.IntegerField()

    class Meta:
        table_name = "concurrency_slot"
        primary_key = peewee.CompositeKey("definition", "key")


#: Takes a slot when one is free; the conflict case waits on the row and sees the latest count.
_TAKE = """
INSERT INTO concurrency_slot AS slot (definition_id, key, active) VALUES (%s, %s, 1)
ON CONFLICT (definition_id, key) DO UPDATE SET active = slot.active + 1
WHERE slot.active < %s
RETURNING active
"""

_FREE = """
UPDATE concurrency_slot SET active = active - 1
WHERE definition_id = %s AND key = %s AND active > 0
RETURNING active
"""

#: The oldest queued run of a key, creation order.
_HEAD = """
SELECT * FROM workflow_run
WHERE definition_id = %s AND concurrency_key = %s AND status = 'PENDING'
ORDER BY created_at, id LIMIT 1
"""

#: Brings the oldest queued run's timer to now. A row another transaction holds (that run is
#: being started or cancelled right now) is skipped, never waited on: no lock cycle.
_NUDGE = """
UPDATE workflow_run SET next_run_at = now() AT TIME ZONE 'UTC'
WHERE id = (
    SELECT id FROM workflow_run
    WHERE definition_id = %s AND concurrency_key = %s AND status = 'PENDING'
    ORDER BY created_at, id LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""

#: Marks a run queued, fenced on its version; its timer stays as it is.
_QUEUE = """
UPDATE workflow_run SET queued_reason = %s
WHERE id = %s AND version = %s AND status = 'PENDING' AND queued_reason IS DISTINCT FROM %s
"""

_ACTIVE = "SELECT active FROM concurrency_slot WHERE definition_id = %s AND key = %s"

_SET_KEY = "UPDATE workflow_run SET concurrency_key = %s WHERE id = %s AND version = %s"

#: Called after the commit with the id of a queued run whose turn it is.
_starters: list[Callable[[str], None]] = []


def limit_of(definition_id: str) -> int | None:
    """The definition's `concurrency.limit`; None when it has no limit."""
    concurrency = definition_by_id(definition_id).concurrency
    return None if concurrency is None else concurrency["limit"]


def take_slot(run: WorkflowRun) -> str | None:
    """Take a slot for `run` (inside its transition's transaction); raise `NoFreeSlot` when
    none is free. The queued run whose timer was nudged because slots are left, if any."""
    limit = limit_of(run.definition_id)
    row = db.execute_sql(_TAKE, (run.definition_id, run.concurrency_key, limit)).fetchone()
    if row is None:
        raise NoFreeSlot(f"all {limit} slots of run {run.id}'s concurrency key are taken")
    return _nudge(run) if row[0] < limit else None


def free_slot(run: WorkflowRun) -> str | None:
    """Give back `run`'s slot (inside its transition's transaction); the queued run whose
    timer was nudged to take it, if any."""
    if db.execute_sql(_FREE, (run.definition_id, run.concurrency_key)).fetchone() is None:
        logger.error("run %s held a slot its key's count did not have", run.id)
    return _nudge(run)


def _nudge(run: WorkflowRun) -> str | None:
    row = db.execute_sql(_NUDGE, (run.definition_id, run.concurrency_key)).fetchone()
    return None if row is None else row[0]


def queue_head(run: WorkflowRun) -> WorkflowRun | None:
    """The oldest PENDING run of `run`'s definition and key (`run` itself when first)."""
    return next(iter(WorkflowRun.raw(_HEAD, run.definition_id, run.concurrency_key)), None)


def has_room(run: WorkflowRun) -> bool:
    """True when `run`'s key has a slot free right now (a hint: taking one is fenced)."""
    row = db.execute_sql(_ACTIVE, (run.definition_id, run.concurrency_key)).fetchone()
    return row is None or row[0] < limit_of(run.definition_id)


def mark_queued(run: WorkflowRun) -> None:
    """Say the PENDING run waits for a slot (`queuedReason`); nothing when it moved meanwhile."""
    db.execute_sql(_QUEUE, (QUEUED, run.id, run.version, QUEUED))


def set_key(run: WorkflowRun, key: str) -> bool:
    """Give a run created without its key (a schedule's fire) its key; False when it moved."""
    if db.execute_sql(_SET_KEY, (key, run.id, run.version)).rowcount != 1:
        return False
    run.concurrency_key = key
    return True


def when_turn(starter: Callable[[str], None]) -> None:
    """Have `starter(run_id)` called after a commit that left a slot free for a queued run."""
    _starters.append(starter)


def its_turn(run_id: str) -> None:
    """Tell the starters (after the commit) that the queued `run_id` may start now."""
    for starter in _starters:
        starter(run_id)
