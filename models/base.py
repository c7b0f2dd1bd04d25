"""The base model: every table lives in the one shared database and has a text id."""

from __future__ import annotations

import datetime

import peewee

from models.db import db


def utcnow() -> datetime.datetime:
    """Now in UTC, naive: every timestamp column stores UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def iso_utc(value: datetime.datetime | None) -> str | None:
    """`2026-11-28T21:40:32.123Z` from a naive UTC (or aware) datetime: the wire format."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    # isoformat, not strftime: `%Y` does not pad years before 1000 to four digits.
    return value.isoformat(timespec="milliseconds") + "Z"


class BaseModel(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=40)

    class Meta:
        database = db
        legacy_table_names = False
