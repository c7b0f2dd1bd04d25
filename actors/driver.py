"""Drive a run forward: run its current step, record the outcome, go on while it is cheap.

A command names the step run and attempt it is about (the fence); anything else is dropped.
Each step's outcome and the start of the next step are committed together in one
transaction, so a run going step after step in one worker costs one commit a step. After
`inline_step_limit` steps or `inline_time_budget_ms` the rest goes to the broker, so one long
run cannot hold a worker thread. Waits, signals and approvals leave the run with a timer in
PostgreSQL (`next_run_at`) that the clock turns back into a command.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable

import peewee

from actors import leases, queueing, recording
from actors.attempts import OUTAGES, run_attempt, step_error, unstored
from actors.steps import (
    Outcome,
    StepContext,
    Waiting,
    type_of,
)
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from models import config, statuses
from models.approvals import request_for
from models.base import utcnow
from models.concurrency import NoFreeSlot
from models.definitions import definition_steps
from models.errors import RunConflict
from models.leases import lease_still_held, release_lease
from models.pausing import manually_paused
from models.reruns import started_payload
from models.runs import StepRun, WorkflowRun, run_by_id, step_run_by_id
from models.signals import pending_signal, signal_kept_for
from models.transitions import RunChange

logger = logging.getLogger(__name__)

#: How long past a step's own time bound a worker's heartbeat keeps its lease: a handler stuck
#: in a call nothing can interrupt lets go then, and the clock sends the attempt again.
LEASE_GRACE_MS = 60_000

#: How often an outcome is recorded again when users pause and unpause the run while it is.
RECORD_ATTEMPTS = 5

#: Sends the command to execute a step later: (run_id, step_run_id, step_index, attempt).
HandOff = Callable[[str, str, int, int], None]


def start(run_id: str, hand_off: HandOff) -> None:
    """Move a PENDING run to RUNNING with its first step started (a rerun's: the step it
    was made from), then drive it."""
    run = run_by_id(run_id)
    if run is None or run.status != statuses.PENDING:
        logger.info("start_run %s dropped: run is %s", run_id, run and run.status)
        return
    if not queueing.its_turn(run):
        return
    steps = definition_steps(run.definition_id)
    index = run.current_step_index or 0  # a rerun starts at the step it was made from
    step = steps[index]
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED", started_payload(run, step["name"]))
    step_run = change.start_step(index, step["name"], step["type"])
    change.hold(leases.lease_end(change.now))
    try:
        change.commit()
    except NoFreeSlot:
        queueing.queue(run)
        return
    except RunConflict:
        logger.info("start_run %s dropped: the run moved meanwhile", run_id)
        return
    drive(run, step_run, steps, hand_off)


def resume(run_id: str, step_run_id: str, attempt: int, hand_off: HandOff) -> None:
    """Do what is due for the step run a command names, if the run is still there."""
    run = run_by_id(run_id)
    if run is None or run.current_step_run_id != step_run_id:
        logger.info("execute_step %s/%s dropped: not the current step", run_id, step_run_id)
        return
    if manually_paused(run):
        logger.info("execute_step %s/%s dropped: the run is paused", run_id, step_run_id)
        return
    step_run = step_run_by_id(step_run_id)
    steps = definition_steps(run.definition_id)
    live = run.status in statuses.LIVE_RUN_STATUSES
    if live and step_run.status == statuses.RUNNING and step_run.attempt == attempt:
        # Taken on from a message: claim the attempt, or leave it to the worker that has it.
        if not leases.claim(run):
            logger.info("execute_step %s/%s#%s dropped: held", run_id, step_run_id, attempt)
            return
    elif live and step_run.status == statuses.WAITING and step_run.attempt == attempt:
        pass  # A timer came due, or a signal or decision arrived: the step looks.
    elif _retry_due(run, step_run, attempt):
        change = RunChange(run)
        change.retry_step(step_run)
        change.hold(leases.lease_end(change.now))
        try:
            change.commit()
        except RunConflict:
            return
    else:
        logger.info("execute_step %s/%s#%s dropped: stale", run_id, step_run_id, attempt)
        return
    drive(run, step_run, steps, hand_off)


def _retry_due(run: WorkflowRun, step_run: StepRun, attempt: int) -> bool:
    # Only the clock asks for attempt n+1 of a failed step, once its backoff is over.
    return (
        run.status == statuses.RUNNING
        and step_run.status == statuses.FAILED
        and attempt == step_run.attempt + 1
    )


def drive(run: WorkflowRun, step_run: StepRun, steps: tuple[dict, ...], hand_off: HandOff) -> None:
    """Run steps back to back from `step_run`, one commit each, within the inline budget."""
    deadline = time.monotonic() + config.current().inline_time_budget_ms / 1000
    for count in range(1, config.current().inline_step_limit + 1):
        step = steps[step_run.step_index]
        outcome = _attempt(run, step_run, step)
        inline = count < config.current().inline_step_limit and time.monotonic() < deadline
        try:
            change, next_step_run = _commit(run, step_run, step, outcome, steps, inline)
        except RunConflict:
            recorded = _commit_after_pause(run, step_run, step, outcome, steps, inline)
            if recorded is None:
                logger.info("run %s moved while step %s ran; outcome dropped", run.id, step["name"])
                return
            run, (change, next_step_run) = recorded
            logger.info("run %s was paused or unpaused while step %s ran", run.id, step["name"])
        if change is None:
            if manually_paused(run):
                release_lease(run)  # a wait or an approval: its attempt runs again on unpause
            else:
                recording.keep_timer(run, outcome)
            return
        if next_step_run is None:
            if _signal_raced_in(run, outcome):
                continue  # A signal arrived while the step went to WAITING: take it now.
            return
        step_run = next_step_run
        if not inline:
            break
    hand_off(run.id, step_run.id, step_run.step_index, step_run.attempt)


def _attempt(run: WorkflowRun, step_run: StepRun, step: dict) -> Outcome:
    """Run one attempt, its lease renewed meanwhile; whatever it raises is its outcome."""
    bound = type_of(step).attempt_bound(step)
    renew_until = time.monotonic() + ((bound or STEP_TIME_LIMIT_MS) + LEASE_GRACE_MS) / 1000
    with leases.heartbeat.holding(run, renew_until):
        try:
            ctx = _context(run, step_run, step)
        except OUTAGES:
            raise
        except Exception as exc:
            return step_error(exc)
        return run_attempt(step, ctx)


def _commit(
    run: WorkflowRun,
    step_run: StepRun,
    step: dict,
    outcome: Outcome,
    steps: tuple[dict, ...],
    inline: bool,
) -> tuple[RunChange | None, StepRun | None]:
    """Record the outcome in one transaction: the change (None when there was nothing to
    record) and the step run it starts next.

    Should recording fail for anything but an outage or a conflict (a value the database
    refuses, a bug), the attempt fails with that reason instead: a run never stays RUNNING
    with a message that fails forever.
    """

    def commit(outcome: Outcome) -> tuple[RunChange | None, StepRun | None]:
        change = RunChange(run)
        next_step_run = recording.record(change, run, step_run, step, outcome, steps, inline)
        if not change.has_events:
            return None, None
        change.commit()
        return change, next_step_run

    # Recording moves the step run in memory; a commit that fails leaves the row as it was.
    unmoved = dict(step_run.__data__)
    try:
        return commit(outcome)
    except (RunConflict, *OUTAGES):
        raise
    except peewee.DatabaseError as exc:
        failed = unstored(exc, outcome)
    except Exception as exc:
        logger.exception("recording step %r of run %s failed", step["name"], run.id)
        failed = step_error(exc)
    step_run.__data__ = unmoved
    return commit(failed)


def _commit_after_pause(
    run: WorkflowRun,
    step_run: StepRun,
    step: dict,
    outcome: Outcome,
    steps: tuple[dict, ...],
    inline: bool,
) -> tuple[WorkflowRun, tuple[RunChange | None, StepRun | None]] | None:
    """Record the outcome all the same when only a user's pause or unpause moved the run
    while its step ran (this worker still holds the lease): the run read again, and what
    `_commit` made of it. None when the run moved otherwise: the outcome is dropped."""
    for _ in range(RECORD_ATTEMPTS):
        fresh = lease_still_held(run)
        if fresh is None:
            return None
        # Read again too: the change that met the conflict moved it in memory only.
        step_run = step_run_by_id(step_run.id)
        try:
            return fresh, _commit(fresh, step_run, step, outcome, steps, inline)
        except RunConflict:
            run = fresh
    return None


def _signal_raced_in(run: WorkflowRun, outcome: Outcome) -> bool:
    """True when the run just went WAITING for a signal that is already stored.

    The signal actor looks at the run after storing its signal; this looks for signals after
    the run went WAITING. One of the two always sees the other, so no signal is stranded.
    """
    return (
        isinstance(outcome, Waiting)
        and outcome.signal_type is not None
        and run.status == statuses.WAITING
        and pending_signal(run.id, outcome.signal_type) is not None
    )


def _context(run: WorkflowRun, step_run: StepRun, step: dict) -> StepContext:
    kind = type_of(step)
    signal_type = kind.awaited_signal(step)
    if signal_type is not None:
        signal = pending_signal(run.id, signal_type, step_run.id)
    elif kind.takes_any_signal(step):
        signal = signal_kept_for(run.id, step_run.id)
    else:
        signal = None
    return StepContext(
        run_id=run.id,
        workspace_id=run.workspace_id,
        step_run_id=step_run.id,
        step_name=step_run.step_name,
        attempt=step_run.attempt,
        input=copy.deepcopy(run.input),
        state=copy.deepcopy(run.state),
        started_at=step_run.started_at,
        now=utcnow(),
        signal=signal,
        approval=request_for(step_run) if kind.decided_by_approval else None,
    )
