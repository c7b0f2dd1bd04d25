"""The approval step: PAUSED until a person approves, edits or rejects `state[contentKey]`.

The decision is written to `state[<step name>]` whatever it is; `edited` also replaces the
content. `rejected` fails the run unless `onReject` is `continue`. Past `timeoutMs` the step
fails with APPROVAL_TIMEOUT.
"""

from __future__ import annotations

import copy

from actors.steps.context import StepContext
from actors.steps.fields import Choice, Text
from actors.steps.outcomes import AwaitingApproval, Completed, Failed, Outcome
from actors.steps.templates import TemplateError, render
from actors.steps.types import StepType, register
from models.approvals import EDITED, REJECTED, ApprovalRequest
from models.base import iso_utc


def run_approval(step: dict, ctx: StepContext) -> Outcome:
    key = step["contentKey"]
    request = ctx.approval
    if request is None:
        if key not in ctx.state:
            return Failed(
                "APPROVAL_CONTENT_MISSING",
                f"state has no {key!r} to ask approval for",
                {"contentKey": key},
                retryable=False,
            )
        try:
            prompt = render(step.get("prompt"), ctx.input, ctx.state)
        except TemplateError as exc:
            return exc.failed()
        expires_at = ctx.elapsed(step["timeoutMs"]) if "timeoutMs" in step else None
        return AwaitingApproval(key, copy.deepcopy(ctx.state[key]), prompt, expires_at)
    if request.decision is None:
        if request.expires_at is not None and ctx.now >= request.expires_at:
            return Failed(
                "APPROVAL_TIMEOUT",
                f"no decision within {step['timeoutMs']} ms",
                {"approvalRequestId": request.id, "timeoutMs": step["timeoutMs"]},
            )
        return AwaitingApproval(key, request.content, request.prompt, request.expires_at)
    record = {
        "decision": request.decision,
        "decidedBy": request.decided_by,
        "decidedAt": iso_utc(request.decided_at),
    }
    updates = {step["name"]: record}
    if request.decision == EDITED:
        updates[key] = request.edited_content
    if request.decision == REJECTED and step.get("onReject", "fail") != "continue":
        return Failed(
            "APPROVAL_REJECTED",
            f"approval {request.id} was rejected",
            {"approvalRequestId": request.id, "decidedBy": request.decided_by},
            retryable=False,
            updates=updates,
        )
    return Completed(updates=updates, output=record)


APPROVAL = register(
    StepType(
        name="approval",
        description="PAUSED until a person approves, edits or rejects `state[contentKey]`.",
        fields={
            "contentKey": Text(
                max_length=ApprovalRequest.content_key.max_length,
                description="The state member to approve.",
            ),
            "prompt": Text(required=False, min_length=0),
            "onReject": Choice(required=False, choices=("fail", "continue"), default="fail"),
        },
        run=run_approval,
        # A person's decision is not retried by itself: a rejection stands.
        default_attempts=1,
        decided_by_approval=True,
    )
)
