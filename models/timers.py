"""The clock's timers in PostgreSQL: claiming due runs (`workflow_run.next_run_at`), and when
the next timer of any kind is due. Webhook deliveries are claimed in `models.webhooks`, due
schedules (`schedule.next_fire_at`) fired in `models.schedules`.

Due by the database's clock, not a machine's: two clocks on machines whose clocks differ agree
on what is due. Due rows are taken with `FOR UPDATE SKIP LOCKED` and pushed ahead in the same
statement, so two clocks never claim one timer together.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from models.db import db

_CLAIM_DUE = """
WITH due AS (
    SELECT id FROM workflow_run
    WHERE next_run_at <= now() AT TIME ZONE 'UTC'
    ORDER BY next_run_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE workflow_run AS run
SET next_run_at = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond'
FROM due WHERE run.id = due.id
RETURNING run.id, run.status, run.current_step_run_id
"""

_STEP_RUNS = "SELECT id, step_index, attempt, status FROM step_run WHERE id = ANY(%s)"

_NEXT_DUE = """
SELECT least(
    (SELECT min(next_run_at) FROM workflow_run),
    (SELECT min(next_attempt_at) FROM webhook_delivery WHERE status = 'pending'),
    (SELECT min(next_fire_at) FROM schedule WHERE NOT paused AND deleted_at IS NULL)
)
"""


class DueRun(NamedTuple):
    """A run whose timer was claimed, and where its current step run is (None without one)."""

    run_id: str
    status: str
    step_run_id: str | None
    step_index: int | None
    attempt: int | None
    step_status: str | None


def claim_due_runs(limit: int, redrive_after_ms: int) -> list[DueRun]:
    """Claim up to `limit` due runs, pushing each one's timer `redrive_after_ms` ahead."""
    with db.atomic():
        claimed = db.execute_sql(_CLAIM_DUE, (limit, redrive_after_ms)).fetchall()
        step_ids = [step_run_id for _, _, step_run_id in claimed if step_run_id]
        steps = {row[0]: row[1:] for row in db.execute_sql(_STEP_RUNS, (step_ids,)).fetchall()}
    return [
        DueRun(run_id, status, step_run_id, *steps.get(step_run_id, (None, None, None)))
        for run_id, status, step_run_id in claimed
    ]


def next_due_at() -> datetime.datetime | None:
    """When the earliest timer is due: a run's, a pending webhook delivery's, or a
    schedule's next fire."""
    return db.execute_sql(_NEXT_DUE).fetchone()[0]
