"""POST /v1/workspaces and PATCH /v1/workspaces/{workspace_id} (admin token), and
GET /v1/workspaces/current."""

from __future__ import annotations

import re

import falcon

from app import serializers
from app.auth import Access
from app.errors import NotFound
from app.media import read_object
from models.ids import is_id
from models.keys import create_workspace
from models.rate_limits import MAX_PER_S, MIN_PER_S, set_rate_limit
from models.validation import MISSING, Fields, Problems

SLUG = re.compile(r"[a-z0-9-]+")


class Workspaces:
    """Creating a workspace hands out its first API key, and changing one sets what it may do,
    so both take the admin token."""

    access = Access.ADMIN

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(("name", "slug"))
        name = fields.string("name", max_length=100)
        slug = fields.string("slug", max_length=50, pattern=SLUG)
        problems.raise_if_any()
        workspace, key, raw_key = create_workspace(name, slug)
        data = serializers.workspace(workspace)
        data["apiKey"] = {"id": key.id, "name": key.name, "key": raw_key}
        resp.status = falcon.HTTP_201
        resp.media = {"success": True, "data": data}

    def on_patch_item(self, req: falcon.Request, resp: falcon.Response, workspace_id: str) -> None:
        """Set the workspace's own rate limit, `rateLimitPerS`; null gives it the default again."""
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(("rateLimitPerS",))
        per_s = None
        if body.get("rateLimitPerS", MISSING) is not None:
            per_s = fields.integer("rateLimitPerS", minimum=MIN_PER_S, maximum=MAX_PER_S)
        problems.raise_if_any()
        workspace = set_rate_limit(workspace_id, per_s) if is_id(workspace_id, "ws") else None
        if workspace is None:
            raise NotFound(f"no workspace with id {workspace_id!r}")
        resp.media = {"success": True, "data": serializers.workspace(workspace)}


class CurrentWorkspace:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"success": True, "data": serializers.workspace(req.context.workspace)}
