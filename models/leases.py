"""Leases on a run's current step attempt (`workflow_run.leased_until`), by the database's
clock: the fenced claim and the heartbeat's renewal.

A lease is also the run's timer (`next_run_at`): when its worker dies, the clock sends the
command again once the lease runs out. How long a lease lasts is `actors.leases`' policy.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from models.db import db
from models.runs import WorkflowRun

#: Takes a run's lease, fenced on its version and on nobody holding the lease.
_CLAIM = """
UPDATE workflow_run
SET leased_until = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond',
    next_run_at = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond'
WHERE id = %s AND version = %s
  AND (leased_until IS NULL OR leased_until <= now() AT TIME ZONE 'UTC')
RETURNING leased_until
"""

#: Renews the leases this process holds, each fenced on the version and lease it was given.
_RENEW = """
UPDATE workflow_run AS run
SET leased_until = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond',
    next_run_at = now() AT TIME ZONE 'UTC' + %s * interval '1 millisecond'
FROM unnest(%s::text[], %s::integer[], %s::timestamp[]) AS held(id, version, leased_until)
WHERE run.id = held.id AND run.version = held.version AND run.leased_until = held.leased_until
RETURNING run.id, run.leased_until
"""


def claim_lease(run_id: str, version: int, lease_ms: int) -> datetime.datetime | None:
    """Lease the run at `version` for `lease_ms` when nobody holds it: when the lease ends,
    or None when another worker holds it or the run moved."""
    row = db.execute_sql(_CLAIM, (lease_ms, lease_ms, run_id, version)).fetchone()
    return None if row is None else row[0]


def renew_leases(runs: Sequence[WorkflowRun], lease_ms: int) -> dict[str, datetime.datetime]:
    """Extend each run's lease by `lease_ms` in one statement, while the run is still at the
    version and lease it was read with: run id -> new lease end, for those renewed."""
    params = (
        lease_ms,
        lease_ms,
        [run.id for run in runs],
        [run.version for run in runs],
        [run.leased_until for run in runs],
    )
    return dict(db.execute_sql(_RENEW, params).fetchall())
