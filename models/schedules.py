"""Schedules (SPEC section 9): a definition's runs started on a cron expression or an interval;
creating, finding, pausing and deleting them, and the clock's firing of the due ones.

A due schedule fires in one transaction: its row is taken `FOR UPDATE SKIP LOCKED` (a second
clock passes over it, and finds it not due once the first commits), its run is inserted with
the idempotency key `schedule:<id>:<fire time>` (so one fire never starts two runs, whatever
happens), and its next fire is written. After downtime only the fire that was due first runs,
at once; the ones missed after it are passed over.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, NamedTuple

import peewee

from models import statuses
from models.base import BaseModel, iso_utc, utcnow
from models.db import db
from models.definitions import WorkflowDefinition
from models.errors import StevoraError
from models.fire_times import Timing
from models.ids import new_id
from models.operations import redrive_at
from models.runs import WorkflowRun, insert_run
from models.workspaces import Workspace

logger = logging.getLogger(__name__)

#: `overlap`: a fire starts nothing while the schedule's previous run is not final...
SKIP = "skip"
#: ... or starts its run whatever the previous one is doing.
ALLOW = "allow"
OVERLAPS = (SKIP, ALLOW)


class ScheduleConflict(StevoraError):
    """The schedule is not in a state that allows the call (pausing a paused one): 409."""


class Schedule(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    definition = peewee.ForeignKeyField(WorkflowDefinition, on_delete="RESTRICT")
    #: Five fields in `timezone`; exactly one of `cron` and `interval_ms` is set.
    cron = peewee.CharField(max_length=100, null=True)
    interval_ms = peewee.BigIntegerField(null=True)
    timezone = peewee.CharField(max_length=64, default="UTC")
    #: The input of every run it starts.
    input = peewee.JSONField(default=dict)
    overlap = peewee.CharField(max_length=10, default=SKIP)
    paused = peewee.BooleanField(default=False)
    #: The fire owed next. Kept while paused (once unpaused, a past one fires at once); None
    #: once deleted, or when the cron has no time left.
    next_fire_at = peewee.DateTimeField(null=True)
    #: The run the latest fire started: the one `overlap: skip` waits for.
    last_run = peewee.ForeignKeyField(WorkflowRun, null=True, on_delete="SET NULL")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    #: Set by DELETE: the schedule is gone from the API and fires no more.
    deleted_at = peewee.DateTimeField(null=True)

    @property
    def timing(self) -> Timing:
        return Timing(self.cron, self.interval_ms, self.timezone)


def fire_key(schedule_id: str, fire_at: datetime.datetime) -> str:
    """The idempotency key of the run of one fire: `schedule:<id>:<fire time>`."""
    return f"schedule:{schedule_id}:{iso_utc(fire_at)}"


def create_schedule(
    workspace_id: str,
    definition_id: str,
    timing: Timing,
    run_input: dict[str, Any],
    overlap: str,
) -> Schedule:
    """A new schedule, its first fire one interval (or the cron's next time) from now."""
    now = utcnow()
    return Schedule.create(
        id=new_id("sch"),
        workspace=workspace_id,
        definition=definition_id,
        cron=timing.cron,
        interval_ms=timing.interval_ms,
        timezone=timing.timezone,
        input=run_input,
        overlap=overlap,
        next_fire_at=timing.first(now),
        created_at=now,
        updated_at=now,
    )


def schedule_in_workspace(workspace_id: str, schedule_id: str) -> Schedule | None:
    """The schedule with this id in the workspace, unless deleted; None when it has none."""
    return (
        Schedule.select()
        .where((Schedule.id == schedule_id) & (Schedule.workspace == workspace_id))
        .where(Schedule.deleted_at.is_null())
        .first()
    )


def schedules_of_workspace(workspace_id: str) -> peewee.ModelSelect:
    """The workspace's schedules but deleted ones, unexecuted, newest first (by `id`)."""
    return (
        Schedule.select()
        .where((Schedule.workspace == workspace_id) & Schedule.deleted_at.is_null())
        .order_by(Schedule.id.desc())
    )


def pause_schedule(schedule: Schedule) -> Schedule:
    """Stop its fires; raises `ScheduleConflict` when it is paused already."""
    return _set_paused(schedule, True, "the schedule is paused already")


def unpause_schedule(schedule: Schedule) -> Schedule:
    """Fire again: the fire owed runs at once when its time passed meanwhile (only that one),
    else when it comes. Raises `ScheduleConflict` when it is not paused."""
    return _set_paused(schedule, False, "the schedule is not paused")


def _set_paused(schedule: Schedule, paused: bool, refusal: str) -> Schedule:
    now = utcnow()
    changed = (
        Schedule.update(paused=paused, updated_at=now)
        .where((Schedule.id == schedule.id) & (Schedule.paused == (not paused)))
        .where(Schedule.deleted_at.is_null())
        .execute()
    )
    if changed != 1:
        raise ScheduleConflict(refusal)
    schedule.paused, schedule.updated_at = paused, now
    return schedule


def delete_schedule(schedule: Schedule) -> Schedule:
    """Mark the schedule deleted: it fires no more. The runs it started are left as they are."""
    now = utcnow()
    Schedule.update(deleted_at=now, next_fire_at=None, updated_at=now).where(
        (Schedule.id == schedule.id) & Schedule.deleted_at.is_null()
    ).execute()
    schedule.deleted_at, schedule.next_fire_at, schedule.updated_at = now, None, now
    return schedule


class DueSchedule(NamedTuple):
    """A due schedule as the clock claims it, with the status of its latest run."""

    id: str
    workspace_id: str
    definition_id: str
    cron: str | None
    interval_ms: int | None
    timezone: str
    input: dict[str, Any]
    overlap: str
    next_fire_at: datetime.datetime
    last_run_id: str | None
    last_run_status: str | None
    #: The database's `now()`: what "due" and "missed" are measured by.
    now: datetime.datetime

    @property
    def waits_for_its_last_run(self) -> bool:
        """True when this fire starts nothing: `overlap: skip` and a previous run not final."""
        return (
            self.overlap == SKIP
            and self.last_run_status is not None
            and self.last_run_status not in statuses.FINAL_RUN_STATUSES
        )


_CLAIM_DUE = """
SELECT s.id, s.workspace_id, s.definition_id, s.cron, s.interval_ms, s.timezone, s.input,
    s.overlap, s.next_fire_at, s.last_run_id, last_run.status, now() AT TIME ZONE 'UTC'
FROM schedule AS s LEFT JOIN workflow_run AS last_run ON last_run.id = s.last_run_id
WHERE s.next_fire_at <= now() AT TIME ZONE 'UTC' AND NOT s.paused AND s.deleted_at IS NULL
ORDER BY s.next_fire_at
LIMIT %s
FOR UPDATE OF s SKIP LOCKED
"""

_FIRED = "UPDATE schedule SET next_fire_at = %s, last_run_id = %s WHERE id = %s"


def fire_due_schedules(limit: int) -> list[str]:
    """Fire up to `limit` due schedules, in one transaction; the ids of the PENDING runs they
    inserted, for the caller to start once it has returned (committed).

    A fire's run is PENDING with a redrive timer, as the API leaves a new run: should the
    start command never arrive, the clock sends it again.
    """
    started = []
    with db.atomic():
        for due in map(DueSchedule._make, db.execute_sql(_CLAIM_DUE, (limit,)).fetchall()):
            run_id = _fire(due)
            if run_id is not None:
                started.append(run_id)
            following = Timing(due.cron, due.interval_ms, due.timezone).following(
                due.next_fire_at, due.now
            )
            db.execute_sql(_FIRED, (following, run_id or due.last_run_id, due.id))
    return started


def _fire(due: DueSchedule) -> str | None:
    """Insert the run of this fire; its id, or None when the fire starts nothing."""
    if due.waits_for_its_last_run:
        logger.debug(
            "schedule %s skips its fire of %s: run %s is %s",
            due.id,
            iso_utc(due.next_fire_at),
            due.last_run_id,
            due.last_run_status,
        )
        return None
    key = fire_key(due.id, due.next_fire_at)
    run = insert_run(
        due.workspace_id, due.definition_id, due.input, key, redrive_at(), schedule_id=due.id
    )
    if run is None:
        return None  # a run of this fire exists already
    logger.info("schedule %s fired run %s (%s)", due.id, run.id, key)
    return run.id
