"""Falcon middleware that holds each workspace to its request rate (SPEC section 9).

Every request an API key authenticates takes a token from its workspace's bucket in PostgreSQL
(`models.rate_limits`), the one thing every API process on every machine shares; without one it
is answered 429 RATE_LIMIT_ERROR with `Retry-After`. The limit is the workspace's own
`rate_limit_per_s`, else the default of the settings.

A process never lets a request through on its own count: its takes and every other process's
come out of one bucket. It may refuse on its own, though: once the bucket has refused, no take
anywhere can bring its next token sooner, so until then this process refuses that workspace
without asking the database. A flooding workspace then costs the database about one statement
per token it earns, not one per request.
"""

from __future__ import annotations

import math
import time
from typing import Any

import falcon

from app.errors import RateLimited
from app.openapi import OPENAPI_PATH
from app.resources.health import HEALTH_PATH
from models.rate_limits import take_token

#: Never counted, by exact path: the health check (load balancers poll it) and this API's
#: document. A request without a workspace (no key needed, the admin's) is not counted either.
EXEMPT_PATHS = frozenset({HEALTH_PATH, OPENAPI_PATH})
#: Never counted, by path prefix: the dashboard's static files.
EXEMPT_PREFIXES = ("/ui/static/",)


class RateLimiter:
    """Counts each request of an authenticated workspace, after `Authenticator` found it.

    `per_s` is the limit of workspaces that have none of their own.
    """

    def __init__(self, per_s: int) -> None:
        self.per_s = per_s
        #: Workspace id -> (its limit then, the `time.monotonic()` before which its bucket has
        #: no whole token at that limit). One per workspace refused in this process; a stale
        #: one is in the past, and one of another limit (the operator changed it) is ignored.
        self._refused: dict[str, tuple[int, float]] = {}

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        workspace = req.context.get("workspace")
        if workspace is None or is_exempt(req.path):
            return
        per_s = workspace.rate_limit_per_s or self.per_s
        # Read before the statement runs: the bucket's own clock reading is later, so the
        # refusal below ends no later than the bucket's next token.
        started = time.monotonic()
        refused_at, refused_until = self._refused.get(workspace.id, (per_s, 0.0))
        if refused_at == per_s and started < refused_until:
            raise RateLimited(per_s, retry_after(refused_until - started))
        take = take_token(workspace.id, per_s)
        if not take.granted:
            self._refused[workspace.id] = (per_s, started + take.wait)
            raise RateLimited(per_s, retry_after(take.wait))


def is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


def retry_after(wait: float) -> int:
    """`Retry-After` for a wait of `wait` seconds: whole seconds, at least 1."""
    return max(1, math.ceil(wait))
