"""The base model: every table lives in the one shared database and has a text id."""

from __future__ import annotations

import datetime
import re
import threading
import time

import peewee

from models.db import db

#: How often a process measures again how far its clock is from the database's (seconds).
CLOCK_SYNC_INTERVAL = 30.0

_DATABASE_NOW = "SELECT now() AT TIME ZONE 'UTC'"


class _DatabaseClock:
    """This machine's clock, set right by the database's: every process stamps and compares
    times as PostgreSQL's `now()` would, so machines whose clocks differ agree on timers."""

    def __init__(self) -> None:
        self.offset = datetime.timedelta(0)
        self._synced_at: float | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + self.offset

    def _due(self) -> bool:
        synced = self._synced_at
        return synced is None or time.monotonic() - synced > CLOCK_SYNC_INTERVAL

    def sync(self) -> None:
        """Measure the offset on this thread's open connection, at most once an interval."""
        if not self._due():
            return  # the hot path: every request and message asks, without taking the lock
        with self._lock:
            if not self._due():
                return  # another thread measured meanwhile
            self._synced_at = time.monotonic()
        before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        database_now = db.execute_sql(_DATABASE_NOW).fetchone()[0]
        after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        self.offset = database_now - (before + (after - before) / 2)


database_clock = _DatabaseClock()


def utcnow() -> datetime.datetime:
    """Now in UTC, naive (every timestamp column stores UTC), by the database's clock."""
    return database_clock.now()


def iso_utc(value: datetime.datetime | None) -> str | None:
    """`2026-11-28T21:40:32.123Z` from a naive UTC (or aware) datetime: the wire format."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    # isoformat, not strftime: `%Y` does not pad years before 1000 to four digits.
    return value.isoformat(timespec="milliseconds") + "Z"


#: The moments a client may write: an RFC 3339 date-time, one without its zone (UTC), or a
#: date alone (midnight UTC). Upper-case `T` and `Z`, seconds, ASCII digits: the OpenAPI
#: document states this very pattern, so the API and the schema agree.
MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def moment_of(value: str) -> datetime.datetime | None:
    """The naive UTC moment a `MOMENT` names, or None when it is not one or names none in
    years 1-9999 once in UTC."""
    if not MOMENT.fullmatch(value):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed
        return parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


class BaseModel(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=40)

    class Meta:
        database = db
        legacy_table_names = False
