"""Creating workspaces; issuing, finding, listing and revoking API keys, stored only as the
SHA-256 digest of their text."""

from __future__ import annotations

import datetime
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


#: Every request runs this lookup, so it is plain SQL: Peewee's query building costs more here
#: than the indexed read itself.
_KEY_BY_HASH = (
    "SELECT k.id, k.name, k.key_hash, k.last_used_at, k.revoked_at, k.created_at,"
    " w.id, w.name, w.slug, w.rate_limit_per_s, w.created_at, w.updated_at"
    " FROM api_key k JOIN workspace w ON w.id = k.workspace_id WHERE k.key_hash = %s"
)


def key_by_hash(digest: str) -> ApiKey | None:
    """The API key with this SHA-256 digest, its workspace loaded with it; None when unknown."""
    row = db.execute_sql(_KEY_BY_HASH, (digest,)).fetchone()
    if row is None:
        return None
    workspace = Workspace(
        id=row[6],
        name=row[7],
        slug=row[8],
        rate_limit_per_s=row[9],
        created_at=row[10],
        updated_at=row[11],
    )
    key = ApiKey(
        id=row[0],
        name=row[1],
        key_hash=row[2],
        last_used_at=row[3],
        revoked_at=row[4],
        created_at=row[5],
    )
    key.workspace = workspace
    return key


def mark_key_used(key: ApiKey, resolution: datetime.timedelta) -> None:
    """Stamp the key's `last_used_at` now, unless it is younger than `resolution`."""
    # Write only when the stored time is stale; the WHERE makes concurrent requests of
    # one key write at most once per period.
    now = utcnow()
    cutoff = now - resolution
    if key.last_used_at is not None and key.last_used_at >= cutoff:
        return
    (
        ApiKey.update(last_used_at=now)
        .where(
            (ApiKey.id == key.id) & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < cutoff))
        )
        .execute()
    )


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


def key_in_workspace(workspace_id: str, key_id: str) -> ApiKey | None:
    """The API key with this id in the workspace; None when it has none."""
    return ApiKey.select().where((ApiKey.id == key_id) & (ApiKey.workspace == workspace_id)).first()


def keys_of_workspace(workspace_id: str) -> peewee.ModelSelect:
    """The workspace's API keys, unexecuted, newest first: by `created_at`, then `id`."""
    return (
        ApiKey.select()
        .where(ApiKey.workspace == workspace_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )


def revoke_key(key: ApiKey) -> ApiKey:
    """Revoke a key; the key as stored. A revoked key keeps its first `revoked_at`."""
    if key.revoked_at is not None:
        return key
    ApiKey.update(revoked_at=utcnow()).where(
        (ApiKey.id == key.id) & ApiKey.revoked_at.is_null()
    ).execute()
    return ApiKey.get_by_id(key.id)
