"""POST/GET /v1/workflow-definitions and GET /v1/workflow-definitions/{definition_id}."""

from __future__ import annotations

import falcon

from app import serializers
from app.definition_rules import check_definition
from app.lookup import find_in_workspace
from app.media import read_object
from app.pagination import Page, paginate
from models.definitions import (
    create_definition,
    definition_in_workspace,
    definitions_of_workspace,
)
from models.validation import Problems


class Definitions:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_object(req)
        problems = Problems()
        check_definition(body, problems)
        problems.raise_if_any("the workflow definition is invalid")
        definition = create_definition(
            req.context.workspace.id,
            body["name"],
            body["version"],
            body.get("description"),
            body["steps"],
            body.get("concurrency"),
        )
        resp.status = falcon.HTTP_201
        resp.media = {"success": True, "data": serializers.definition(definition)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; `name` filters on the exact name."""
        problems = Problems()
        page = Page.from_request(req, problems)
        name = req.get_param("name")
        if name is not None and not 1 <= len(name) <= 200:
            problems.add("name", "must be between 1 and 200 characters")
        elif name is not None and "\x00" in name:
            problems.add("name", "must not contain NUL characters")  # PostgreSQL text cannot
        problems.raise_if_any()
        query = definitions_of_workspace(req.context.workspace.id, name)
        resp.media = paginate(query, page, serializers.definition)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, definition_id: str) -> None:
        definition = find_in_workspace(
            definition_in_workspace,
            "wfdef",
            definition_id,
            req.context.workspace,
            "workflow definition",
        )
        resp.media = {"success": True, "data": serializers.definition(definition)}
