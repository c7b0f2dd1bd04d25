"""The one code path that changes a run's or a step run's status.

A `RunChange` gathers one atomic piece of a run's history (status moves checked against the
state machine, field updates, step-run writes and one event per move) and commits it in one
transaction, fenced by the version the run had when it was read: `UPDATE ... WHERE id = ? AND
version = ?`. Zero rows means someone else moved first and raises `RunConflict`. The version
grows by one for every event, so a run's version always equals the length of its event log.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import peewee

from models import concurrency, prepared, statuses, webhooks
from models.base import utcnow
from models.db import db
from models.errors import IllegalTransition, RunConflict
from models.ids import new_id
from models.runs import RunEvent, StepRun, WorkflowRun

#: Run columns a change may set directly; status and version only move through `move`/`commit`.
_RUN_FIELDS = frozenset(
    {
        "current_step_index",
        "current_step_name",
        "state",
        "output",
        "error",
        "next_run_at",
        "total_cost_cents",
        "current_step_run_id",
        "paused_from",
        "paused_due_at",
    }
)

#: What a manual pause keeps, forgotten when the run leaves PAUSED.
_PAUSE_FIELDS = ("paused_reason", "paused_from", "paused_due_at")

#: The timestamp column stamped when a run enters each status.
_RUN_STAMPS = {
    statuses.COMPLETED: "completed_at",
    statuses.FAILED: "failed_at",
    statuses.CANCELLED: "cancelled_at",
}


class RunChange:
    """One atomic change of a run, applied by `commit`."""

    def __init__(self, run: WorkflowRun) -> None:
        self.run = run
        self.status = run.status
        #: Why the run is PAUSED once this change is committed (None when it is not).
        self.paused_reason = run.paused_reason
        self.now = utcnow()
        self._fields: dict[str, Any] = {}
        #: Step runs this change writes: each with None (a new row) or the columns it changed.
        self._steps: list[tuple[StepRun, set[str] | None]] = []
        self._events: list[dict[str, Any]] = []
        self._writes: list[Callable[[], None]] = []
        self._keep_lease = False
        #: Slots this change takes (+1) or gives back (-1): a limited run's start or end.
        self._slots = 0
        #: The queued run a slot was left free for, once committed (`models.concurrency`).
        self.slot_left_for: str | None = None

    def move(
        self,
        status: str,
        event_type: str | None,
        payload: dict | None = None,
        *,
        step_run: StepRun | None = None,
        paused_reason: str | None = None,
        **fields: Any,
    ) -> RunChange:
        """Move the run to `status`, recording `event_type`.

        `event_type` may be None when another event of the same change tells the move (a
        wait step's STEP_COMPLETED takes its run from WAITING back to RUNNING). A move to
        PAUSED says why (`paused_reason`): an approval unless told otherwise, since that is
        the only pause a step makes; leaving PAUSED forgets what the pause kept.
        """
        if status not in statuses.RUN_MOVES[self.status]:
            raise IllegalTransition("run", self.status, status)
        if status == statuses.PAUSED:
            reason = paused_reason or statuses.APPROVAL
            pause = reason  # the pause this move enters
        else:
            reason = None
            pause = self.paused_reason  # the pause this move leaves, if any
        if (self.status, status) in statuses.MANUAL_PAUSE_MOVES and pause != statuses.MANUAL:
            kind = "run" if pause is None else f"run paused for {pause}"
            raise IllegalTransition(kind, self.status, status)
        if status == statuses.PAUSED:
            self._fields["paused_reason"] = reason
        elif self.status == statuses.PAUSED:
            self._fields.update(dict.fromkeys(_PAUSE_FIELDS))
        self.paused_reason = reason
        if self.status == statuses.PENDING and status == statuses.RUNNING:
            self._fields["started_at"] = self.now
        if self.status == statuses.FAILED:
            self._fields["failed_at"] = None  # a retried run is no longer failed
        if status in _RUN_STAMPS:
            self._fields[_RUN_STAMPS[status]] = self.now
        if status in statuses.FINAL_RUN_STATUSES:
            self._fields["next_run_at"] = None
        if self.run.concurrency_key is not None:
            self._count_slot(status)
        self.status = status
        self.update(**fields)
        if event_type is None:
            return self
        return self.event(event_type, payload, step_run=step_run)

    def _count_slot(self, status: str) -> None:
        """A limited run holds a slot while started and not final: it takes one moving to
        RUNNING without one (started, or a FAILED run retried), gives it back when final."""
        if self.status == statuses.PENDING:
            self._fields["queued_reason"] = None  # a run leaving PENDING waits in no queue
        holds = self._fields.get("holds_slot", self.run.holds_slot)
        if status == statuses.RUNNING and not holds:
            self._slots += 1
            self._fields["holds_slot"] = True
        elif status in statuses.FINAL_RUN_STATUSES and holds:
            self._slots -= 1
            self._fields["holds_slot"] = False

    def update(self, **fields: Any) -> RunChange:
        """Set run columns that are not the status (state, current step, timers...)."""
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise ValueError(f"a run change cannot set {sorted(unknown)}")
        self._fields.update(fields)
        return self

    def start_step(
        self, step_index: int, step_name: str, step_type: str, payload: dict | None = None
    ) -> StepRun:
        """Create the step run for a new visit of a step, RUNNING at attempt 1."""
        step_run = self._new_step_run(
            step_index, step_name, step_type, statuses.RUNNING, started_at=self.now
        )
        self._fields["current_step_index"] = step_index
        self._fields["current_step_name"] = step_name
        self._fields["current_step_run_id"] = step_run.id
        self._count_visit()
        started = _step_payload(step_run, "STEP_STARTED")
        self.event("STEP_STARTED", {**started, **(payload or {})}, step_run)
        return step_run

    def skip_step(self, step_index: int, step_name: str, step_type: str) -> StepRun:
        """Record a step a condition jumped over: a step run SKIPPED at once."""
        step_run = self._new_step_run(
            step_index, step_name, step_type, statuses.SKIPPED, completed_at=self.now
        )
        self._count_visit()
        self.event("STEP_SKIPPED", _step_payload(step_run, "STEP_SKIPPED"), step_run)
        return step_run

    @property
    def steps_visited(self) -> int:
        """Steps the run has visited (started or skipped) once this change is committed."""
        return self._fields.get("steps_executed", self.run.steps_executed)

    def _count_visit(self) -> None:
        self._fields["steps_executed"] = self.steps_visited + 1

    def reset_visits(self) -> RunChange:
        """A fresh step budget: a run retried after it hit the step limit may go on."""
        self._fields["steps_executed"] = 0
        return self

    def _new_step_run(
        self, step_index: int, step_name: str, step_type: str, status: str, **stamps: Any
    ) -> StepRun:
        step_run = StepRun(
            id=new_id("srun"),
            run=self.run.id,
            step_index=step_index,
            step_name=step_name,
            step_type=step_type,
            status=status,
            attempt=1,
            created_at=self.now,
            **stamps,
        )
        self._steps.append((step_run, None))
        return step_run

    def retry_step(self, step_run: StepRun) -> StepRun:
        """Start the next attempt of a failed step run: RUNNING again, attempt counted up."""
        self.move_step(
            step_run,
            statuses.RUNNING,
            "STEP_STARTED",
            attempt=step_run.attempt + 1,
            started_at=self.now,
            completed_at=None,
            duration_ms=None,
            error=None,
        )
        return step_run

    def hold(self, until: datetime.datetime) -> RunChange:
        """Keep the step attempt this change starts for the worker committing it, until
        `until` (renewed by its heartbeat); the clock re-sends it if the lease runs out."""
        self._fields["leased_until"] = until
        self._fields["next_run_at"] = until
        return self

    def keep_lease(self) -> RunChange:
        """Leave the lease on the step attempt with the worker that holds it, untouched (a
        user's pause or unpause): that worker still records the attempt's outcome."""
        self._keep_lease = True
        return self

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    def also(self, write: Callable[[], None]) -> RunChange:
        """Another write (a signal consumed, an approval requested) in the same transaction."""
        self._writes.append(write)
        return self

    def move_step(
        self,
        step_run: StepRun,
        status: str,
        event_type: str | None,
        payload: dict | None = None,
        **fields: Any,
    ) -> RunChange:
        """Move a step run to `status`, recording `event_type` (None: another event tells it)."""
        if status not in statuses.STEP_MOVES[step_run.status]:
            raise IllegalTransition("step run", step_run.status, status)
        changes = {"status": status, **fields}
        if status in statuses.ENDED_STEP_STATUSES:
            changes["completed_at"] = self.now
            changes["duration_ms"] = _milliseconds(self.now - (step_run.started_at or self.now))
        for name, value in changes.items():
            setattr(step_run, name, value)
        for existing, columns in self._steps:
            if existing is step_run:
                if columns is not None:
                    columns.update(changes)
                break
        else:
            self._steps.append((step_run, set(changes)))
        if event_type is None:
            return self
        about = _step_payload(step_run, event_type)
        return self.event(event_type, {**about, **(payload or {})}, step_run)

    def event(
        self, event_type: str, payload: dict | None = None, step_run: StepRun | None = None
    ) -> RunChange:
        """Record an event that comes with this change."""
        self._events.append(
            {
                "id": new_id("evt"),
                "run": self.run.id,
                "step_run": step_run.id if step_run is not None else None,
                "event_type": event_type,
                "payload": payload or {},
                "created_at": self.now,
            }
        )
        return self

    def commit(self) -> WorkflowRun:
        """Write the change atomically; raise `RunConflict` if the run moved meanwhile.

        One statement: the fenced run update, and every other write gated on it having matched,
        so a change costs one round trip (and, outside a transaction, one commit).
        """
        if not self._events:
            raise ValueError("a run change records at least one event")
        expected = self.run.version
        fields = {
            # A change lets go of the step attempt's lease unless it takes one (`hold`) or
            # leaves it alone (`keep_lease`).
            **({} if self._keep_lease else {"leased_until": None}),
            **self._fields,
            "status": self.status,
            "version": expected + len(self._events),
            "updated_at": self.now,
        }
        sql = _Sql()
        assignments = ", ".join(
            f"{name} = {sql.bind(WorkflowRun, name, value)}" for name, value in fields.items()
        )
        parts = [
            f"fenced AS (UPDATE workflow_run SET {assignments} WHERE id = "
            f"{sql.bind(WorkflowRun, 'id', self.run.id)} AND version = "
            f"{sql.bind(WorkflowRun, 'version', expected)} RETURNING 1)"
        ]
        for number, (step_run, columns) in enumerate(self._steps):
            parts.append(f"step{number} AS ({_step_run_write(sql, step_run, columns)})")
        for number, event in enumerate(self._events, start=expected + 1):
            event["sequence"] = number
        names = ("id", "run", "sequence", "step_run", "event_type", "payload", "created_at")
        rows = ", ".join(
            "(" + ", ".join(sql.bind(RunEvent, name, event[name]) for name in names) + ")"
            for event in self._events
        )
        parts.append(
            f"events AS (INSERT INTO run_event ({', '.join(_columns(RunEvent, names))}) "
            f"SELECT * FROM (VALUES {rows}) AS v WHERE EXISTS (SELECT 1 FROM fenced))"
        )
        statement = "WITH " + ", ".join(parts) + " SELECT count(*) FROM fenced"
        writes = self._writes
        announced = [event for event in self._events if event["event_type"] in webhooks.ANNOUNCED]
        if announced:
            # The outbox: deliveries commit with the events they announce, or not at all.
            output = fields.get("output")
            writes = [*writes, webhooks.outbox_write(self.run, self.status, announced, output)]
        if self._slots:
            # After the fenced update: a change that lost the race never touches a slot.
            writes = [*writes, self._slot_write]
        if writes:
            with db.atomic():
                self._apply(statement, sql.params, expected)
                for write in writes:
                    write()
        else:
            self._apply(statement, sql.params, expected)
        for name, value in fields.items():
            setattr(self.run, name, value)
        if self.slot_left_for is not None:
            concurrency.its_turn(self.slot_left_for)
        return self.run

    def _slot_write(self) -> None:
        """Take the run's slot (`NoFreeSlot` when none is free: nothing of the change is
        written) or give it back, in the change's transaction."""
        if self._slots > 0:
            self.slot_left_for = concurrency.take_slot(self.run)
        else:
            self.slot_left_for = concurrency.free_slot(self.run)

    def _apply(self, statement: str, params: list[Any], expected: int) -> None:
        if prepared.execute(statement, params).fetchone()[0] != 1:
            raise RunConflict(f"run {self.run.id} is no longer at version {expected}")


#: The SQL type each kind of field is cast to, so NULLs and VALUES lists type correctly.
_CASTS = {
    peewee.CharField: "text",
    peewee.TextField: "text",
    peewee.IntegerField: "integer",
    peewee.DateTimeField: "timestamp",
    peewee.DecimalField: "numeric",
    peewee.JSONField: "jsonb",
    peewee.ForeignKeyField: "text",
    peewee.BooleanField: "boolean",
}


class _Sql:
    """The parameters of one statement, each bound with its field's cast."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def bind(self, model: type[peewee.Model], name: str, value: Any) -> str:
        field = model._meta.fields[name]
        if isinstance(field, peewee.JSONField) and value is not None:
            value = json.dumps(value)
        elif isinstance(value, peewee.Model):
            value = value.get_id()
        self.params.append(value)
        return f"%s::{_CASTS[type(field)]}"


def _raw(instance: peewee.Model, name: str) -> Any:
    """A field's stored value; for a foreign key its id, without loading the row it names."""
    field = instance._meta.fields[name]
    if isinstance(field, peewee.ForeignKeyField):
        return getattr(instance, field.object_id_name)
    return getattr(instance, name)


def _columns(model: type[peewee.Model], names: tuple[str, ...]) -> list[str]:
    return [model._meta.fields[name].column_name for name in names]


def _step_run_write(sql: _Sql, step_run: StepRun, changed: set[str] | None) -> str:
    """Insert a new step run (`changed` is None) or update the columns that changed."""
    if changed is None:
        names = tuple(StepRun._meta.sorted_field_names)
        values = ", ".join(sql.bind(StepRun, name, _raw(step_run, name)) for name in names)
        return (
            f"INSERT INTO step_run ({', '.join(_columns(StepRun, names))}) "
            f"SELECT {values} WHERE EXISTS (SELECT 1 FROM fenced)"
        )
    assignments = ", ".join(
        f"{name} = {sql.bind(StepRun, name, getattr(step_run, name))}" for name in sorted(changed)
    )
    return (
        f"UPDATE step_run SET {assignments} WHERE id = {sql.bind(StepRun, 'id', step_run.id)} "
        "AND EXISTS (SELECT 1 FROM fenced)"
    )


def set_timer(run: WorkflowRun, at: datetime.datetime | None) -> bool:
    """Move only the run's timer, fenced on its version: not a transition, so no event.

    A worker sets it when it takes a step on (a lease), or puts back a wait's due time.
    False when the run moved meanwhile.
    """
    cursor = db.execute_sql(
        "UPDATE workflow_run SET next_run_at = %s WHERE id = %s AND version = %s",
        (at, run.id, run.version),
    )
    if cursor.rowcount != 1:
        return False
    run.next_run_at = at
    return True


def _step_payload(step_run: StepRun, event_type: str) -> dict:
    """What a step event says of its step run, as this change leaves it: where and which
    attempt, with the step's type on a start and the step run's duration on a completion
    (Stevora's payloads, SPEC section 14)."""
    payload = {
        "stepIndex": step_run.step_index,
        "stepName": step_run.step_name,
        "attempt": step_run.attempt,
    }
    if event_type == "STEP_STARTED":
        payload["stepType"] = step_run.step_type
    elif event_type == "STEP_COMPLETED":
        payload["durationMs"] = step_run.duration_ms
    return payload


def _milliseconds(delta: datetime.timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))
