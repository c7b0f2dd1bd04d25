"""Each workspace's token bucket: its request rate, held in PostgreSQL for every API process.

A bucket holds at most `BURST_SECONDS` seconds of the workspace's rate and gains its rate in
tokens a second; a request takes one whole token or is refused. Refill and take are one
statement on the workspace's row (`INSERT ... ON CONFLICT DO UPDATE`), so concurrent requests
of a workspace, from any process on any machine, take turns on that row's lock for the length
of one statement, and each sees the takes before it. Refill is timed by PostgreSQL's clock
(`clock_timestamp()`), so the machines' own clocks never enter into it.
"""

from __future__ import annotations

from typing import NamedTuple

import peewee

from models import prepared
from models.base import BaseModel, utcnow
from models.workspaces import Workspace

#: A bucket holds this many seconds of its rate: the burst a workspace may send at once.
BURST_SECONDS = 2

#: The workspace's own limit may be set within these bounds (requests per second).
MIN_PER_S = 1
MAX_PER_S = 100_000


class RateLimitBucket(BaseModel):
    """`tokens` as of `refilled_at`; `granted`: whether the latest request got one."""

    workspace = peewee.ForeignKeyField(Workspace, primary_key=True, on_delete="CASCADE")
    tokens = peewee.DoubleField()
    refilled_at = peewee.DateTimeField()
    granted = peewee.BooleanField()


class Take(NamedTuple):
    """One request's turn at its bucket: let through or not, and if not, how many seconds
    until the bucket holds a whole token again (no take by anyone else can make it sooner)."""

    granted: bool
    wait: float


#: Params: workspace id, burst, burst, rate. A new bucket starts full, less this request. An
#: existing one gains `rate` a second since it was last refilled, up to `burst`, and gives a
#: token when it holds a whole one; a refusal takes nothing. `excluded.refilled_at` is the one
#: clock reading of the statement. A clock stepped back refills nothing (`greatest(0, ...)`).
#: `granted` is stored so that RETURNING, which sees only the new row, can say which it was.
_TAKE_TOKEN = (
    "INSERT INTO rate_limit_bucket AS b (workspace_id, tokens, refilled_at, granted)"
    " VALUES (%s, %s::float8 - 1, clock_timestamp(), true)"
    " ON CONFLICT (workspace_id) DO UPDATE SET (tokens, refilled_at, granted) = ("
    "SELECT level - (level >= 1)::int, excluded.refilled_at, level >= 1 FROM ("
    "SELECT least(%s::float8, b.tokens + %s::float8 * greatest(0,"
    " extract(epoch FROM excluded.refilled_at - b.refilled_at))) AS level) AS refill)"
    " RETURNING granted, tokens"
)


def take_token(workspace_id: str, per_s: int) -> Take:
    """Take a token from the workspace's bucket, whose rate is `per_s` a second."""
    burst = float(BURST_SECONDS * per_s)
    granted, tokens = prepared.execute(
        _TAKE_TOKEN, [workspace_id, burst, burst, float(per_s)]
    ).fetchone()
    return Take(granted, 0.0 if granted else (1 - tokens) / per_s)


def set_rate_limit(workspace_id: str, per_s: int | None) -> Workspace | None:
    """Give the workspace its own limit, or the default again with None; the workspace as
    stored, None when there is no such workspace. Its next request takes its bucket at it."""
    updated = (
        Workspace.update(rate_limit_per_s=per_s, updated_at=utcnow())
        .where(Workspace.id == workspace_id)
        .returning(Workspace)
        .execute()
    )
    return next(iter(updated), None)
