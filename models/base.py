"""The base model: every table lives in the one shared database and has a text id."""

from __future__ import annotations

import datetime

import peewee

from models.db import db


def utcnow() -> datetime.datetime:
    """Now in UTC, naive: every timestamp column stores UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class BaseModel(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=40)

    class Meta:
        database = db
        legacy_table_names = False
