"""Manual pause and unpause (SPEC section 8): a user holds a run where it is, then lets it go.

A manual pause takes a PENDING, RUNNING or WAITING run to PAUSED (`paused_reason` manual) and
remembers where it came from (`paused_from`). A paused run holds no timer: the timer it had is
kept aside (`paused_due_at`) and `next_run_at` is NULL, so the clock never looks at it, and
every command about it is dropped. Signals that arrive are stored, and a timer that falls due
stays due.

A step attempt already executing keeps its lease: its worker records the outcome against the
paused run (`actors.recording`): a step that completes is recorded, state merged, and the run
waits before the next step (`hold_between_steps`); a step that fails keeps its retry timer
aside; a step that fails for good fails the run. A step that would wait or ask for approval
records nothing: its attempt runs again on unpause.

Unpause takes the run back to what it was doing and says which command sets it going once
committed (`Wake`): a PENDING run is started; a RUNNING one runs its step's attempt, starts the
next step, or completes when the last step completed while paused; a WAITING one has its step
look at once, so a timer already due or a signal kept takes effect.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from models import statuses
from models.base import moment_of
from models.definitions import definition_steps
from models.errors import RunConflict
from models.operations import NotAllowed, redrive_at
from models.runs import RunEvent, StepRun, WorkflowRun, run_by_id, step_run_by_id
from models.transitions import RunChange

#: How often a pause or unpause is decided again when a worker moved the run meanwhile.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Wake:
    """The command that sets an unpaused run going: `start_run` when it names no step run,
    else `execute_step` of `step_run` at `attempt`."""

    run_id: str
    step_run: StepRun | None = None
    attempt: int | None = None


def manually_paused(run: WorkflowRun) -> bool:
    """True of a run a user paused: it holds no timer and starts no step until unpaused."""
    return run.status == statuses.PAUSED and run.paused_reason == statuses.MANUAL


def pause_run(run_id: str) -> WorkflowRun:
    """Pause a PENDING, RUNNING or WAITING run; `NotAllowed` from any other status."""
    for _ in range(_ATTEMPTS):
        run = run_by_id(run_id)
        if run.status not in statuses.PAUSABLE:
            raise NotAllowed(f"a {_described(run)} run cannot be paused")
        change = RunChange(run).keep_lease()
        change.move(
            statuses.PAUSED,
            "WORKFLOW_PAUSED",
            {"reason": statuses.MANUAL, "previousStatus": run.status},
            paused_reason=statuses.MANUAL,
            paused_from=run.status,
            paused_due_at=_due_at(run),
            next_run_at=None,
        )
        try:
            return change.commit()
        except RunConflict:
            continue
    raise RunConflict(f"run {run_id} kept changing; try again")


def unpause_run(run_id: str) -> tuple[WorkflowRun, Wake | None]:
    """Take a manually paused run back to what it was doing; `NotAllowed` for any other run.

    Returns the run and the command to send once committed (None when there is none: the run
    completed, or its step's retry waits for its timer).
    """
    for _ in range(_ATTEMPTS):
        run = run_by_id(run_id)
        if not manually_paused(run):
            raise NotAllowed(f"the run is {_described(run)}, not paused manually")
        change = RunChange(run).keep_lease()
        wake = _go_back(change, run)
        try:
            return change.commit(), wake
        except RunConflict:
            continue
    raise RunConflict(f"run {run_id} kept changing; try again")


def hold_between_steps(change: RunChange, steps: tuple[dict, ...], index: int) -> None:
    """The step a paused run was at ended: the run waits before step `index` (none when past
    the last), which unpause starts; no step run is current meanwhile."""
    following = steps[index] if index < len(steps) else None
    change.update(
        current_step_index=None if following is None else index,
        current_step_name=None if following is None else following["name"],
        current_step_run_id=None,
    )


def _go_back(change: RunChange, run: WorkflowRun) -> Wake | None:
    redrive = redrive_at()
    back = run.paused_from
    payload = {"status": back}
    if back == statuses.PENDING:
        change.move(statuses.PENDING, "WORKFLOW_UNPAUSED", payload, next_run_at=redrive)
        return Wake(run.id)
    step_run = None if run.current_step_run_id is None else step_run_by_id(run.current_step_run_id)
    if back == statuses.WAITING:
        # The step looks at once (a timer due, a signal kept) and sets its timer again.
        due = redrive if run.paused_due_at is None else min(run.paused_due_at, redrive)
        change.move(statuses.WAITING, "WORKFLOW_UNPAUSED", payload, next_run_at=due)
        return Wake(run.id, step_run, step_run.attempt)
    change.move(statuses.RUNNING, "WORKFLOW_UNPAUSED", payload)
    if step_run is None:  # its step ended while paused: on to the next one, or the end
        if run.current_step_index is None:
            change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output=run.state)
            return None
        index = run.current_step_index
        step = definition_steps(run.definition_id)[index]
        started = change.start_step(index, step["name"], step["type"])
        change.update(next_run_at=redrive)
        return Wake(run.id, started, started.attempt)
    if step_run.status == statuses.FAILED:  # its next attempt, once the backoff is over
        due = run.paused_due_at
        if due is not None and due > change.now:
            change.update(next_run_at=due)
            return None
        change.update(next_run_at=redrive)
        return Wake(run.id, step_run, step_run.attempt + 1)
    # The attempt it was at: taken on by a worker, unless the one running it still holds it.
    change.update(next_run_at=redrive)
    return Wake(run.id, step_run, step_run.attempt)


def _due_at(run: WorkflowRun) -> datetime.datetime | None:
    """The timer a pause keeps aside: the run's, or for a step failed and due to be retried
    the retry's own time, which the clock's claim may have pushed ahead (the command it sent
    is dropped once the run is paused)."""
    if run.status != statuses.RUNNING or run.current_step_run_id is None:
        return run.next_run_at
    retrying = (
        RunEvent.select(RunEvent.payload)
        .join(StepRun)
        .where(
            (RunEvent.run == run.id)
            & (RunEvent.step_run == run.current_step_run_id)
            & (RunEvent.event_type == "STEP_RETRYING")
            & (StepRun.status == statuses.FAILED)
        )
        .order_by(RunEvent.sequence.desc())
        .first()
    )
    if retrying is None:
        return run.next_run_at
    return moment_of(retrying.payload["retryAt"])


def _described(run: WorkflowRun) -> str:
    """`PAUSED (approval)`, `COMPLETED`: the status, and why when PAUSED."""
    return run.status if run.paused_reason is None else f"{run.status} ({run.paused_reason})"
