"""Who is calling: an API key for every `/v1` route, the admin token for creating and changing
workspaces.

A resource says what it needs with its `access` attribute (API key when absent). Keys are
looked up by their SHA-256 digest; raw keys and tokens are never logged.
"""

from __future__ import annotations

import datetime
import enum
import hmac
from typing import Any

import falcon

from app.errors import AuthError
from models.keys import hash_key, key_by_hash, mark_key_used
from models.workspaces import Workspace

#: `last_used_at` is refreshed at most this often, so most requests write nothing.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)

#: Longer headers cannot be keys; refused before hashing.
_MAX_KEY_LENGTH = 200


class Access(enum.Enum):
    PUBLIC = "public"
    API_KEY = "api_key"
    ADMIN = "admin"


class Authenticator:
    """Falcon middleware: checks each routed request against its resource's `access`.

    `admin_token` guards the ADMIN resources; when it is None they are disabled (401).
    """

    def __init__(self, admin_token: str | None) -> None:
        self.admin_token = admin_token

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        if resource is None:
            return  # No route: Falcon answers 404.
        access = getattr(resource, "access", Access.API_KEY)
        if access is Access.API_KEY:
            req.context.workspace = authenticate_key(req.get_header("x-api-key"))
        elif access is Access.ADMIN:
            self._check_admin(req.get_header("x-admin-token"))

    def _check_admin(self, token: str | None) -> None:
        if self.admin_token is None:
            raise AuthError("managing workspaces over the API is disabled (ADMIN_TOKEN is unset)")
        if token is None:
            raise AuthError("the x-admin-token header is required")
        if not hmac.compare_digest(token.encode("utf-8"), self.admin_token.encode("utf-8")):
            raise AuthError("the admin token is not valid")


def authenticate_key(raw_key: str | None) -> Workspace:
    """The workspace a raw API key acts for; `AuthError` when missing, unknown or revoked."""
    if not raw_key:
        raise AuthError("the x-api-key header is required")
    if len(raw_key) > _MAX_KEY_LENGTH:
        raise AuthError("the API key is not valid")
    digest = hash_key(raw_key)
    key = key_by_hash(digest)
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        raise AuthError("the API key is not valid")
    if key.revoked_at is not None:
        raise AuthError("the API key has been revoked")
    mark_key_used(key, LAST_USED_RESOLUTION)
    return key.workspace
