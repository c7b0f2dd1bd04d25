"""GET /v1/approval-requests, GET /:id, and POST /:id/decide."""

from __future__ import annotations

from typing import Any

import dramatiq
import falcon

from app import serializers
from app.commands import publish_step
from app.errors import PayloadTooLarge
from app.lookup import find_in_workspace
from app.media import read_object
from app.pagination import Page, paginate
from models.approvals import (
    DECISIONS,
    EDITED,
    ApprovalRequest,
    approval_request_in_workspace,
    approval_requests_of_workspace,
)
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.operations import decide_approval
from models.validation import MISSING, Fields, Problems

DECIDE_FIELDS = ("decision", "editedContent", "decidedBy")


class ApprovalRequests:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; without `page` or `pageSize`, every match (up to the whole-list
        limit). `pending=true`: undecided, and the run still waits on it; `pending=false`:
        every other request, decided or closed; absent: every request."""
        problems = Problems()
        page = Page.from_request(req, problems, whole=True)
        pending = Fields(problems, req.params).choice("pending", ("true", "false"), required=False)
        problems.raise_if_any()
        query = approval_requests_of_workspace(
            req.context.workspace.id, None if pending is None else pending == "true"
        )
        resp.media = paginate(query, page, serializers.approval_request)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        request = _find(req, request_id)
        resp.media = {"success": True, "data": serializers.approval_request(request)}

    def on_post_decide(self, req: falcon.Request, resp: falcon.Response, request_id: str) -> None:
        """Record the decision and wake the run; 409 when decided already or closed."""
        body = read_object(req)
        decision, decided_by, edited_content = _read_decision(body)
        request = _find(req, request_id)
        request, step_run = decide_approval(request, decision, decided_by, edited_content)
        publish_step(self.broker, step_run)
        resp.media = {"success": True, "data": serializers.approval_request(request)}


def _read_decision(body: dict[str, Any]) -> tuple[str, str | None, Any]:
    """`(decision, decidedBy, editedContent)`. `editedContent` is required for edited; with
    another decision it is accepted and ignored, as Stevora's clients send it (SPEC 14)."""
    problems = Problems()
    fields = Fields(problems, body)
    fields.only(DECIDE_FIELDS)
    decision = fields.choice("decision", DECISIONS)
    decided_by = fields.string("decidedBy", max_length=200, required=False)
    edited_content = body.get("editedContent", MISSING)
    if decision == EDITED and (edited_content is MISSING or edited_content is None):
        fields.add("editedContent", "is required when decision is edited")
    problems.raise_if_any()
    if decision != EDITED:
        return decision, decided_by, None
    if serialized_size(edited_content) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"editedContent must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
    return decision, decided_by, edited_content


def _find(req: falcon.Request, request_id: str) -> ApprovalRequest:
    return find_in_workspace(
        approval_request_in_workspace, "apr", request_id, req.context.workspace, "approval request"
    )
