"""POST /v1/workspaces (admin token) and GET /v1/workspaces/current."""

from __future__ import annotations

import re

import falcon

from app import serializers
from app.auth import Access
from app.media import read_object
from models.keys import create_workspace
from models.validation import Fields, Problems

SLUG = re.compile(r"[a-z0-9-]+")


class Workspaces:
    """Creating a workspace hands out its first API key, so it takes the admin token."""

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


class CurrentWorkspace:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"success": True, "data": serializers.workspace(req.context.workspace)}
