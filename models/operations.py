"""The run operations a user asks for (cancel, resume, retry, decide an approval).

Each is one transition through `models.transitions`; the caller then sends the command that
makes a worker go on (`actors.execute_step`), after the commit.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import Any

from models import config, statuses
from models.approvals import DECISIONS, EDITED, ApprovalRequest, close_request
from models.base import utcnow
from models.definitions import definition_steps
from models.errors import RunConflict, StevoraError
from models.ids import new_id
from models.runs import StepRun, WorkflowRun, run_by_id, step_run_by_id
from models.signals import FROM_API, Signal
from models.transitions import RunChange

#: How often a user's operation is decided again when a worker moved the run meanwhile.
_ATTEMPTS = 5


class NotAllowed(StevoraError):
    """The run (or approval) is not in a state that allows the operation."""


def redrive_at() -> datetime.datetime:
    """When the clock should re-send a command that was just sent, if nobody acted on it."""
    return utcnow() + datetime.timedelta(milliseconds=config.current().redrive_after_ms)


def cancel_run(run_id: str) -> WorkflowRun:
    """Cancel a PENDING, RUNNING, WAITING or PAUSED run, with its current step run; the
    approval request a PAUSED run waits on is closed undecided.

    A worker that finishes a step afterwards finds the version moved and records nothing.
    """
    for _ in range(_ATTEMPTS):
        run = run_by_id(run_id)
        if run.status not in statuses.CANCELLABLE:
            raise NotAllowed(f"a {run.status} run cannot be cancelled")
        change = RunChange(run)
        step_run = _current_step_run(run)
        if step_run is not None and step_run.status in (statuses.RUNNING, statuses.WAITING):
            change.move_step(step_run, statuses.CANCELLED, None)
        if step_run is not None and run.status == statuses.PAUSED:
            change.also(functools.partial(close_request, step_run, change.now))
        change.move(statuses.CANCELLED, "WORKFLOW_CANCELLED", {"previousStatus": run.status})
        try:
            return change.commit()
        except RunConflict:
            continue
    raise RunConflict(f"run {run_id} kept changing; try again")


def resume_run(
    run: WorkflowRun,
    signal_type: str,
    payload: dict[str, Any],
    refusal: Callable[[dict, str], str | None],
) -> StepRun:
    """Deliver a REST signal to a run WAITING for that signal type: the run is RUNNING again.

    `refusal` says why the run's current step does not take this signal, or None when it
    does (its step type knows).

    Two resumes at once: one commits, the other raises `RunConflict`, and its signal is not
    kept. The step consumes the signal when a worker runs it (`execute_step`).
    """
    if run.status != statuses.WAITING:
        raise NotAllowed(f"the run is {run.status}, not WAITING")
    step = definition_steps(run.definition_id)[run.current_step_index]
    refused = refusal(step, signal_type)
    if refused is not None:
        raise NotAllowed(refused)
    step_run = step_run_by_id(run.current_step_run_id)
    signal = Signal(
        id=new_id("sig"),
        workspace=run.workspace_id,
        run=run.id,
        signal_type=signal_type,
        payload=payload,
        source=FROM_API,
        # Kept for this step run: a broker signal that arrives meanwhile cannot take its place.
        step_run=step_run.id,
        created_at=utcnow(),
    )
    change = RunChange(run)
    change.move_step(step_run, statuses.RUNNING, None)
    change.move(
        statuses.RUNNING,
        "SIGNAL_RECEIVED",
        {"signalId": signal.id, "signalType": signal_type, "source": FROM_API},
        step_run=step_run,
        next_run_at=redrive_at(),
    )
    change.also(lambda: signal.save(force_insert=True))
    try:
        change.commit()
    except RunConflict:
        raise NotAllowed(
            f"run {run.id} changed meanwhile (another resume?); read it again"
        ) from None
    return step_run


def retry_run(run: WorkflowRun) -> StepRun:
    """Run a FAILED run again from the step that failed, state kept, with fresh budgets: the
    step's attempts and the run's step limit (a run stopped by it goes on from the next step)."""
    if run.status != statuses.FAILED:
        raise NotAllowed(f"the run is {run.status}, not FAILED")
    index = run.current_step_index or 0
    step = definition_steps(run.definition_id)[index]
    change = RunChange(run)
    change.move(
        statuses.RUNNING,
        "WORKFLOW_RETRIED",
        {"stepIndex": index, "stepName": step["name"]},
        error=None,
        next_run_at=redrive_at(),
    )
    change.reset_visits()
    step_run = change.start_step(index, step["name"], step["type"])
    change.commit()
    return step_run


def decide_approval(
    request: ApprovalRequest,
    decision: str,
    decided_by: str | None = None,
    edited_content: Any = None,
) -> tuple[ApprovalRequest, StepRun]:
    """Record a decision and wake the PAUSED run; deciding twice, or deciding a request that
    was closed (its run no longer waits on it), raises `NotAllowed`."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    if request.decision is not None:
        raise NotAllowed(f"approval request {request.id} was already decided ({request.decision})")
    run = run_by_id(request.run_id)
    step_run = step_run_by_id(request.step_run_id)
    waiting = (
        run.status == statuses.PAUSED
        and run.current_step_run_id == request.step_run_id
        and step_run.attempt == request.attempt
    )
    if request.closed_at is not None or not waiting:
        raise NotAllowed(
            f"approval request {request.id} was closed undecided: its run is {run.status} "
            "and no longer waits on it"
        )
    now = utcnow()
    change = RunChange(run)
    change.move_step(step_run, statuses.RUNNING, None)
    change.move(
        statuses.RUNNING,
        "APPROVAL_DECIDED",
        {"approvalRequestId": request.id, "decision": decision, "decidedBy": decided_by},
        step_run=step_run,
        next_run_at=redrive_at(),
    )

    def record_decision() -> None:
        updated = (
            ApprovalRequest.update(
                decision=decision,
                decided_by=decided_by,
                decided_at=now,
                edited_content=edited_content if decision == EDITED else None,
            )
            .where(
                (ApprovalRequest.id == request.id)
                & ApprovalRequest.decision.is_null()
                & ApprovalRequest.closed_at.is_null()
            )
            .execute()
        )
        if updated != 1:
            raise RunConflict(f"approval request {request.id} was decided or closed meanwhile")

    change.also(record_decision)
    try:
        change.commit()
    except RunConflict:
        raise NotAllowed(
            f"approval request {request.id} or its run changed meanwhile; read it again"
        ) from None
    request.decision, request.decided_by, request.decided_at = decision, decided_by, now
    request.edited_content = edited_content if decision == EDITED else None
    return request, step_run


def _current_step_run(run: WorkflowRun) -> StepRun | None:
    if run.current_step_run_id is None:
        return None
    return step_run_by_id(run.current_step_run_id)
