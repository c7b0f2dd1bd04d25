"""Runs put in a status directly through `RunChange`, as a worker would leave them.

The API tests of cancel, resume, retry and approvals use these so they need no worker: each
helper walks the state machine (never a raw status update), so versions and events stay true.
"""

from __future__ import annotations

from models import statuses
from models.approvals import ApprovalRequest
from models.base import utcnow
from models.ids import new_id
from models.runs import StepRun, WorkflowRun
from models.transitions import RunChange
from tests.support import insert_definition, insert_run

TASK = {"type": "task", "name": "work", "handler": "noop"}
EXTERNAL_EVENT = {"type": "external_event", "name": "payment", "signalType": "payment.received"}
APPROVAL = {"type": "approval", "name": "review", "contentKey": "draft", "prompt": "Send it?"}
ERROR = {"code": "TASK_FAILED", "message": "nope"}


def pending(workspace, steps: list[dict] | None = None, state: dict | None = None) -> WorkflowRun:
    """PENDING; with `state`, the run starts from it (as a rerun does)."""
    return insert_run(insert_definition(workspace, steps or [TASK]), state=state)


def running(
    workspace, steps: list[dict] | None = None, index: int = 0, state: dict | None = None
) -> tuple[WorkflowRun, StepRun]:
    """RUNNING at step `index` (the steps before it are not recorded), with `state` (the
    state it started from)."""
    steps = steps or [TASK]
    run = pending(workspace, steps, state)
    change = RunChange(run).move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(index, steps[index]["name"], steps[index]["type"])
    change.commit()
    return run, step_run


def waiting(workspace, step: dict = EXTERNAL_EVENT) -> tuple[WorkflowRun, StepRun]:
    """WAITING at a wait or external_event step (the first and only step)."""
    run, step_run = running(workspace, [step, TASK])
    change = RunChange(run).move_step(step_run, statuses.WAITING, None)
    reason = "signal" if step["type"] == "external_event" else "timer"
    change.move(
        statuses.WAITING,
        "WORKFLOW_WAITING",
        {"reason": reason, "signalType": step.get("signalType"), "until": None},
        step_run=step_run,
    )
    change.commit()
    return run, step_run


def paused(workspace, content: str = "hello") -> tuple[WorkflowRun, StepRun, ApprovalRequest]:
    """PAUSED at an approval step, with its undecided request for the step run's attempt."""
    run, step_run = running(workspace, [APPROVAL, TASK], state={"draft": content})
    request = ApprovalRequest(
        id=new_id("apr"),
        workspace=run.workspace_id,
        run=run.id,
        step_run=step_run.id,
        attempt=step_run.attempt,
        step_name=APPROVAL["name"],
        content_key=APPROVAL["contentKey"],
        content=content,
        prompt=APPROVAL["prompt"],
        created_at=utcnow(),
    )
    change = RunChange(run).move_step(step_run, statuses.WAITING, None)
    change.event("APPROVAL_REQUESTED", {"approvalRequestId": request.id}, step_run)
    change.move(statuses.PAUSED, "WORKFLOW_PAUSED", step_run=step_run)
    change.also(lambda: request.save(force_insert=True))
    change.commit()
    return run, step_run, request


def failed(
    workspace, steps: list[dict] | None = None, index: int = 0, state: dict | None = None
) -> tuple[WorkflowRun, StepRun]:
    """FAILED at step `index` after its last attempt."""
    run, step_run = running(workspace, steps, index, state)
    change = RunChange(run).move_step(step_run, statuses.FAILED, "STEP_FAILED", error=ERROR)
    change.move(statuses.FAILED, "WORKFLOW_FAILED", error=ERROR)
    change.commit()
    return run, step_run


def completed(workspace) -> WorkflowRun:
    run, step_run = running(workspace)
    change = RunChange(run).move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED")
    change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output={})
    change.commit()
    return run


def cancelled(workspace) -> WorkflowRun:
    run = pending(workspace)
    RunChange(run).move(statuses.CANCELLED, "WORKFLOW_CANCELLED").commit()
    return run


def in_status(workspace, status: str) -> WorkflowRun:
    """A run in `status`, reached as a worker (or a user) would reach it."""
    makers = {
        statuses.PENDING: pending,
        statuses.RUNNING: lambda ws: running(ws)[0],
        statuses.WAITING: lambda ws: waiting(ws)[0],
        statuses.PAUSED: lambda ws: paused(ws)[0],
        statuses.COMPLETED: completed,
        statuses.FAILED: lambda ws: failed(ws)[0],
        statuses.CANCELLED: cancelled,
    }
    return makers[status](workspace)
