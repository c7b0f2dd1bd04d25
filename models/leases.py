"""Leases on a run's current step attempt (`workflow_run.leased_until`), by the database's
clock: the fenced claim, the heartbeat's renewal, and what a worker whose run was paused under
it asks (`lease_still_held`, `release_lease`).

A lease is also the run's timer (`next_run_at`): when its worker dies, the clock sends the
command again once the lease runs out. How long a lease lasts is `actors.leases`' policy.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from models.db import db
from models.runs import WorkflowRun, run_by_id

#: Takes a run's lease, fenced on its version and on nobody holding the lease.
_CLAIM = """
UPDATE workflow_run
SET leased_until = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond',
    next_run_at = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond'
WHERE id = %s AND version = %s
  AND (leased_until IS NULL OR leased_until <= now() AT TIME ZONE 'UTC')
RETURNING leased_until
"""

#: Renews the leases this process holds, each fenced on the lease it was given: every change
#: of the run lets go of the lease but a user's pause or unpause, which leave it with the
#: worker (so no one else takes the attempt on meanwhile). A paused run holds no timer.
_RENEW = """
UPDATE workflow_run AS run
SET leased_until = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond',
    next_run_at = CASE WHEN run.status = 'PAUSED' THEN run.next_run_at
        ELSE now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond' END
FROM unnest(%s::text[], %s::timestamp[]) AS held(id, leased_until)
WHERE run.id = held.id AND run.leased_until = held.leased_until
RETURNING run.id, run.leased_until
"""

#: Lets go of a lease its worker no longer needs, fenced on the lease.
_RELEASE = "UPDATE workflow_run SET leased_until = NULL WHERE id = %s AND leased_until = %s"


def claim_lease(run_id: str, version: int, lease_ms: int) -> datetime.datetime | None:
    """Lease the run at `version` for `lease_ms` when nobody holds it: when the lease ends,
    or None when another worker holds it or the run moved."""
    row = db.execute_sql(_CLAIM, (lease_ms, lease_ms, run_id, version)).fetchone()
    return None if row is None else row[0]


def renew_leases(runs: Sequence[WorkflowRun], lease_ms: int) -> dict[str, datetime.datetime]:
    """Extend each run's lease by `lease_ms` in one statement, while the run still has the
    lease it was read with: run id -> new lease end, for those renewed."""
    params = (
        lease_ms,
        lease_ms,
        [run.id for run in runs],
        [run.leased_until for run in runs],
    )
    return dict(db.execute_sql(_RENEW, params).fetchall())


def release_lease(run: WorkflowRun) -> bool:
    """Let go of the lease `run` holds, if it still does; no event, like a timer's move."""
    if run.leased_until is None:
        return False
    released = db.execute_sql(_RELEASE, (run.id, run.leased_until)).rowcount == 1
    run.leased_until = None
    return released


def lease_still_held(run: WorkflowRun) -> WorkflowRun | None:
    """The run read again when it still has the lease `run` holds on its current attempt.

    Every change of a run lets go of the lease but a user's pause or unpause, so a worker
    whose change met another (`RunConflict`) and still holds the lease knows that only a
    pause or unpause moved the run: its attempt is still its own to record. None otherwise.
    """
    if run.leased_until is None:
        return None
    fresh = run_by_id(run.id)
    if (
        fresh is None
        or fresh.leased_until != run.leased_until
        or fresh.current_step_run_id != run.current_step_run_id
    ):
        return None
    return fresh
