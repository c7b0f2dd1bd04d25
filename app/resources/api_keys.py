"""POST/GET /v1/api-keys and DELETE /v1/api-keys/{key_id} (revoke)."""

from __future__ import annotations

import falcon

from app import serializers
from app.lookup import find_in_workspace
from app.media import read_object
from app.pagination import Page, paginate
from models.keys import issue_key, key_in_workspace, keys_of_workspace, revoke_key
from models.validation import Fields, Problems


class ApiKeys:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(("name",))
        name = fields.string("name", max_length=100)
        problems.raise_if_any()
        key, raw_key = issue_key(req.context.workspace, name)
        resp.status = falcon.HTTP_201
        resp.media = {"success": True, "data": serializers.new_api_key(key, raw_key)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; without `page` or `pageSize`, every key (up to the whole-list limit)."""
        problems = Problems()
        page = Page.from_request(req, problems, whole=True)
        problems.raise_if_any()
        query = keys_of_workspace(req.context.workspace.id)
        resp.media = paginate(query, page, serializers.api_key)

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, key_id: str) -> None:
        """Revoke a key. Idempotent: revoking a revoked key answers 200 with the record as it
        is, its first `revokedAt` kept. A key may revoke itself; it is 401 from then on."""
        key = find_in_workspace(key_in_workspace, "key", key_id, req.context.workspace, "API key")
        resp.media = {"success": True, "data": serializers.api_key(revoke_key(key))}
