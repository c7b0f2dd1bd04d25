"""When a schedule fires: a five-field cron expression in a time zone (croniter), or a fixed
interval. Times in and out are naive UTC, as every timestamp column holds them.

Daylight-saving changes are croniter's. A local time the spring change skips fires at the
first moment after the gap (02:30 daily in Europe/Berlin fires at 03:00 CEST on the last Sunday
of March); a local time the autumn change repeats fires at both (02:30 CEST, then 02:30 CET).
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo
from dataclasses import dataclass

from croniter import CroniterError, croniter

#: Fields of a cron expression: minute, hour, day of month, month, day of week.
CRON_FIELDS = 5
#: Shortest interval between fires (SPEC section 9).
MIN_INTERVAL_MS = 1000


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows (`Europe/Berlin`, `UTC`...)."""
    return frozenset(zoneinfo.available_timezones())


def cron_problem(expression: str, timezone: str = "UTC") -> str | None:
    """Why `expression` cannot be a schedule's cron, or None when it can: five fields that
    croniter parses, with a next fire time."""
    if len(expression.split()) != CRON_FIELDS:
        return "must have 5 fields: minute, hour, day of month, month, day of week"
    try:
        _cron_after(expression, timezone, datetime.datetime.now(datetime.UTC))
    except CroniterError as exc:
        return f"is not a cron expression croniter can use: {exc}"
    return None


@dataclass(frozen=True)
class Timing:
    """How a schedule fires: on `cron` in `timezone`, or every `interval_ms`."""

    cron: str | None = None
    interval_ms: int | None = None
    timezone: str = "UTC"

    def first(self, now: datetime.datetime) -> datetime.datetime | None:
        """The first fire of a schedule created at `now`: one interval on, or the cron's
        first time after it."""
        if self.interval_ms is not None:
            return _to_millisecond(now) + self._step
        return self._cron_after(now)

    def following(self, due: datetime.datetime, now: datetime.datetime) -> datetime.datetime | None:
        """The fire after the one due at `due`, fired at `now`: the first time after `now`.
        The times in between, missed while nothing fired (the clock down, the schedule
        paused), are passed over; an interval keeps its steps from `due`.

        None when the cron has no time left.
        """
        if self.interval_ms is not None:
            return due + ((now - due) // self._step + 1) * self._step
        return self._cron_after(now)

    @property
    def _step(self) -> datetime.timedelta:
        return datetime.timedelta(milliseconds=self.interval_ms)

    def _cron_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        try:
            fire = _cron_after(self.cron, self.timezone, moment.replace(tzinfo=datetime.UTC))
        except CroniterError:
            return None  # no fire time within croniter's search (a day that never comes)
        return fire.replace(tzinfo=None)


def _cron_after(expression: str, timezone: str, moment: datetime.datetime) -> datetime.datetime:
    """The first time of `expression` in `timezone` after the aware `moment`, in UTC."""
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    fire = croniter(expression, local).get_next(datetime.datetime)
    return fire.astimezone(datetime.UTC)


def _to_millisecond(moment: datetime.datetime) -> datetime.datetime:
    """`moment` cut to the millisecond: the precision of the wire, and so of fire keys."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
