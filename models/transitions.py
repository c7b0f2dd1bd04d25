"""The one code path that changes a run's or a step run's status.

A `RunChange` gathers one atomic piece of a run's history (status moves checked against the
state machine, field updates, step-run writes and one event per move) and commits it in one
transaction, fenced by the version the run had when it was read: `UPDATE ... WHERE id = ? AND
version = ?`. Zero rows means someone else moved first and raises `RunConflict`. The version
grows by one for every event, so a run's version always equals the length of its event log.
"""

from __future__ import annotations

import datetime
from typing import Any

from models import statuses
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
    }
)

#: The timestamp column stamped when a run enters each status.
_RUN_STAMPS = {
    statuses.COMPLETED: "completed_at",
    statuses.FAILED: "failed_at",
    statuses.CANCELLED: "cancelled_at",
}

_STEP_FINAL = frozenset({statuses.COMPLETED, statuses.FAILED, statuses.SKIPPED, statuses.CANCELLED})


class RunChange:
    """One atomic change of a run, applied by `commit`."""

    def __init__(self, run: WorkflowRun) -> None:
        self.run = run
        self.status = run.status
        self.now = utcnow()
        self._fields: dict[str, Any] = {}
        self._steps: list[tuple[StepRun, bool]] = []
        self._events: list[dict[str, Any]] = []

    def move(
        self,
        status: str,
        event_type: str,
        payload: dict | None = None,
        *,
        step_run: StepRun | None = None,
        **fields: Any,
    ) -> RunChange:
        """Move the run to `status`, recording `event_type`."""
        if status not in statuses.RUN_MOVES[self.status]:
            raise IllegalTransition("run", self.status, status)
        if self.status == statuses.PENDING and status == statuses.RUNNING:
            self._fields["started_at"] = self.now
        if status in _RUN_STAMPS:
            self._fields[_RUN_STAMPS[status]] = self.now
        if status != statuses.RUNNING:
            self._fields["next_run_at"] = None
        self.status = status
        self.update(**fields)
        return self.event(event_type, payload, step_run=step_run)

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
        step_run = StepRun(
            id=new_id("srun"),
            run=self.run.id,
            step_index=step_index,
            step_name=step_name,
            step_type=step_type,
            status=statuses.RUNNING,
            attempt=1,
            started_at=self.now,
            created_at=self.now,
        )
        self._steps.append((step_run, True))
        self._fields["current_step_index"] = step_index
        self._fields["current_step_name"] = step_name
        self._fields["steps_executed"] = self.run.steps_executed + 1
        self.event("STEP_STARTED", {**_step_payload(step_run), **(payload or {})}, step_run)
        return step_run

    def move_step(
        self,
        step_run: StepRun,
        status: str,
        event_type: str,
        payload: dict | None = None,
        **fields: Any,
    ) -> RunChange:
        """Move a step run to `status`, recording `event_type`."""
        if status not in statuses.STEP_MOVES[step_run.status]:
            raise IllegalTransition("step run", step_run.status, status)
        step_run.status = status
        for name, value in fields.items():
            setattr(step_run, name, value)
        if status in _STEP_FINAL:
            step_run.completed_at = self.now
            started = step_run.started_at or self.now
            step_run.duration_ms = _milliseconds(self.now - started)
        if not any(existing is step_run for existing, _ in self._steps):
            self._steps.append((step_run, False))
        return self.event(event_type, {**_step_payload(step_run), **(payload or {})}, step_run)

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
        """Write the change in one transaction; raise `RunConflict` if the run moved meanwhile."""
        if not self._events:
            raise ValueError("a run change records at least one event")
        expected = self.run.version
        fields = {
            **self._fields,
            "status": self.status,
            "version": expected + len(self._events),
            "updated_at": self.now,
        }
        with db.atomic():
            updated = (
                WorkflowRun.update({getattr(WorkflowRun, k): v for k, v in fields.items()})
                .where((WorkflowRun.id == self.run.id) & (WorkflowRun.version == expected))
                .execute()
            )
            if updated != 1:
                raise RunConflict(f"run {self.run.id} is no longer at version {expected}")
            for step_run, is_new in self._steps:
                step_run.save(force_insert=is_new)
            RunEvent.insert_many(self._events).execute()
        for name, value in fields.items():
            setattr(self.run, name, value)
        return self.run


def _step_payload(step_run: StepRun) -> dict:
    return {
        "stepIndex": step_run.step_index,
        "stepName": step_run.step_name,
        "attempt": step_run.attempt,
    }


def _milliseconds(delta: datetime.timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))
