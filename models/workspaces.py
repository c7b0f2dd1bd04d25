"""Workspaces (tenants) and the API keys that act for them."""

from __future__ import annotations

import peewee

from models.base import BaseModel, utcnow


class Workspace(BaseModel):
    name = peewee.CharField(max_length=100)
    slug = peewee.CharField(max_length=50, unique=True)
    #: Requests per second across every API process; None keeps the default
    #: (`STEVORA_RATE_LIMIT_PER_S`). See `models.rate_limits`.
    rate_limit_per_s = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class ApiKey(BaseModel):
    """A key is stored only as the SHA-256 hex digest of its raw text."""

    workspace = peewee.ForeignKeyField(Workspace, backref="api_keys", on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    key_hash = peewee.CharField(max_length=64, unique=True)
    last_used_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
