"""The paths of approval requests: listing, reading and deciding them."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import PAGE, PAGE_SIZE, path_id, query
from app.openapi.paths.operation import json_answer, one, operation, page
from app.pagination import WHOLE_LIST_LIMIT


def path_items() -> dict[str, dict[str, Any]]:
    """Listing, reading and deciding approval requests."""
    request_id = path_id("request_id", "apr", "approval request")
    return {
        "/v1/approval-requests": {
            "get": operation(
                "listApprovalRequests",
                "The workspace's approval requests, newest first; with neither page nor "
                f"pageSize, all of them (at most {WHOLE_LIST_LIMIT}; meta.total counts all).",
                "Approvals",
                {200: json_answer(page("ApprovalRequest"), "A page of approval requests.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query(
                        "pending",
                        {"type": "boolean"},
                        "true: undecided, and the run still waits on it; false: every other, "
                        "decided or closed (closedAt).",
                    ),
                ),
            )
        },
        "/v1/approval-requests/{request_id}": {
            "get": operation(
                "getApprovalRequest",
                "One approval request.",
                "Approvals",
                {200: json_answer(one("ApprovalRequest"), "The approval request.")},
                (404, *KEYED),
                parameters=(request_id,),
            )
        },
        "/v1/approval-requests/{request_id}/decide": {
            "post": operation(
                "decideApprovalRequest",
                "Decide; 409 when decided already or closed (the run moved on).",
                "Approvals",
                {200: json_answer(one("ApprovalRequest"), "The approval request, decided.")},
                (400, 404, 409, *KEYED),
                parameters=(request_id,),
                body="Decision",
            )
        },
    }
