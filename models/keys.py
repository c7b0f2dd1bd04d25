"""Creating workspaces and issuing API keys; only a key's SHA-256 digest is ever stored."""

from __future__ import annotations

import hashlib
import secrets

import peewee

from models.base import utcnow
from models.db import db
from models.errors import StevoraError
from models.ids import new_id
from models.workspaces import ApiKey, Workspace

KEY_PREFIX = "stv_"


class SlugTaken(StevoraError):
    """Another workspace already has this slug."""


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def issue_key(workspace: Workspace | str, name: str) -> tuple[ApiKey, str]:
    """Create an API key for a workspace; return the record and the raw key (shown once)."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey.create(
        id=new_id("key"), workspace=workspace, name=name, key_hash=hash_key(raw_key)
    )
    return record, raw_key


def create_workspace(name: str, slug: str) -> tuple[Workspace, ApiKey, str]:
    """Create a workspace with its first API key; raise `SlugTaken` on a duplicate slug."""
    now = utcnow()
    try:
        with db.atomic():
            workspace = Workspace.create(
                id=new_id("ws"), name=name, slug=slug, created_at=now, updated_at=now
            )
            key, raw_key = issue_key(workspace, "default")
    except peewee.IntegrityError:
        raise SlugTaken(f"a workspace with slug {slug!r} already exists") from None
    return workspace, key, raw_key
