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
import datetime
import decimal
import logging
import time
from collections.abc import Callable

import peewee

from actors import leases
from actors.attempts import OUTAGES, run_attempt, step_error, storable, unstored
from actors.steps import (
    AwaitingApproval,
    Completed,
    Failed,
    Outcome,
    StepContext,
    Waiting,
    type_of,
)
from actors.steps.outcomes import LlmCall
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from models import statuses
from models.approvals import ApprovalRequest, request_for
from models.base import iso_utc, utcnow
from models.config import settings
from models.definitions import definition_steps
from models.errors import RunConflict
from models.ids import new_id
from models.llm_calls import LlmCall as LlmCallRow
from models.runs import StepRun, WorkflowRun, run_by_id, step_run_by_id
from models.signals import FROM_BROKER, Signal, pending_signal
from models.transitions import RunChange, set_timer

logger = logging.getLogger(__name__)

#: A run that visits more steps than this, executed or skipped, fails (loops included).
MAX_STEPS_PER_RUN = 10_000
#: How long past a step's own time bound a worker's heartbeat keeps its lease: a handler stuck
#: in a call nothing can interrupt lets go then, and the clock sends the attempt again.
LEASE_GRACE_MS = 60_000

#: Sends the command to execute a step later: (run_id, step_run_id, step_index, attempt).
HandOff = Callable[[str, str, int, int], None]


def start(run_id: str, hand_off: HandOff) -> None:
    """Move a PENDING run to RUNNING with its first step started, then drive it."""
    run = run_by_id(run_id)
    if run is None or run.status != statuses.PENDING:
        logger.info("start_run %s dropped: run is %s", run_id, run and run.status)
        return
    steps = definition_steps(run.definition_id)
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, steps[0]["name"], steps[0]["type"])
    change.hold(leases.lease_end(change.now))
    try:
        change.commit()
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
    step_run = step_run_by_id(step_run_id)
    steps = definition_steps(run.definition_id)
    live = run.status in (statuses.RUNNING, statuses.WAITING, statuses.PAUSED)
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
    deadline = time.monotonic() + settings.inline_time_budget_ms / 1000
    for count in range(1, settings.inline_step_limit + 1):
        step = steps[step_run.step_index]
        outcome = _attempt(run, step_run, step)
        inline = count < settings.inline_step_limit and time.monotonic() < deadline
        try:
            change, next_step_run = _commit(run, step_run, step, outcome, steps, inline)
        except RunConflict:
            logger.info("run %s moved while step %s ran; outcome dropped", run.id, step["name"])
            return
        if change is None:
            _keep_timer(run, outcome)
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
        next_step_run = record(change, run, step_run, step, outcome, steps, inline)
        if not change.has_events:
            return None, None
        change.commit()
        return change, next_step_run

    try:
        return commit(outcome)
    except (RunConflict, *OUTAGES):
        raise
    except peewee.DatabaseError as exc:
        failed = unstored(exc, outcome)
    except Exception as exc:
        logger.exception("recording step %r of run %s failed", step["name"], run.id)
        failed = step_error(exc)
    return commit(failed)


def record(
    change: RunChange,
    run: WorkflowRun,
    step_run: StepRun,
    step: dict,
    outcome: Outcome,
    steps: tuple[dict, ...],
    inline: bool,
) -> StepRun | None:
    """Add a step's outcome to `change`; return the step run it starts next, if any."""
    outcome = storable(outcome, run.state)
    if isinstance(outcome, Completed | Failed):
        _record_llm_calls(change, run, step_run, outcome.llm_calls)
    if isinstance(outcome, Failed):
        _record_failure(change, run, step_run, step, outcome)
        return None
    if isinstance(outcome, Waiting):
        _record_waiting(change, run, step_run, outcome)
        return None
    if isinstance(outcome, AwaitingApproval):
        _record_approval_request(change, run, step_run, outcome)
        return None
    return _record_completion(change, run, step_run, outcome, steps, inline)


def _record_llm_calls(
    change: RunChange, run: WorkflowRun, step_run: StepRun, calls: tuple[LlmCall, ...]
) -> None:
    """Each provider call as a row and an event, and its cost added to the run's total."""
    if not calls:
        return
    rows = []
    for call in calls:
        row = {
            "id": new_id("llm"),
            "workspace": run.workspace_id,
            "run": run.id,
            "step_run": step_run.id,
            "attempt": step_run.attempt,
            "provider": call.provider,
            "model": call.model,
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "cost_usd": decimal.Decimal(str(call.cost_usd)),
            "duration_ms": call.duration_ms,
            "outcome": call.outcome,
            "error": call.error,
            "created_at": change.now,
        }
        rows.append(row)
        event = "LLM_CALL_COMPLETED" if call.outcome == "completed" else "LLM_CALL_FAILED"
        payload = {
            "llmCallId": row["id"],
            "provider": call.provider,
            "model": call.model,
            "inputTokens": call.input_tokens,
            "outputTokens": call.output_tokens,
            "costUsd": call.cost_usd,
            "durationMs": call.duration_ms,
            "error": call.error,
            **call.details,
        }
        change.event(event, payload, step_run)
    change.also(lambda: LlmCallRow.insert_many(rows).execute())
    cents = sum(decimal.Decimal(str(call.cost_usd)) * 100 for call in calls)
    change.update(total_cost_cents=decimal.Decimal(run.total_cost_cents or 0) + cents)


def _record_completion(
    change: RunChange,
    run: WorkflowRun,
    step_run: StepRun,
    outcome: Completed,
    steps: tuple[dict, ...],
    inline: bool,
) -> StepRun | None:
    signal = outcome.consumed_signal
    if signal is not None:
        change.also(lambda: _consume(signal, step_run))
        if signal.source == FROM_BROKER:
            change.event("SIGNAL_RECEIVED", _signal_payload(signal), step_run)
    if run.status in (statuses.WAITING, statuses.PAUSED):
        change.move(statuses.RUNNING, None)  # told by the events that follow
    output = outcome.updates if outcome.output is None else outcome.output
    change.move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED", output=output)
    state = {**run.state, **outcome.updates}
    change.update(state=state)
    index = step_run.step_index
    target = index + 1 if outcome.jump_to is None else _index_of(steps, outcome.jump_to)
    # Skipped steps count towards the limit like executed ones: each is a step run and events.
    passed_over = range(index + 1, min(target, len(steps)))
    if change.steps_visited + len(passed_over) + (target < len(steps)) > MAX_STEPS_PER_RUN:
        _record_step_limit(change, steps, target)
        return None
    for skipped in passed_over:
        change.skip_step(skipped, steps[skipped]["name"], steps[skipped]["type"])
    if target >= len(steps):
        change.move(
            statuses.COMPLETED,
            "WORKFLOW_COMPLETED",
            output=state,
            current_step_index=None,
            current_step_name=None,
        )
        return None
    step = steps[target]
    next_step_run = change.start_step(target, step["name"], step["type"])
    if inline:
        change.hold(leases.lease_end(change.now))
    else:
        change.update(next_run_at=_redrive(change.now))
    return next_step_run


def _record_step_limit(change: RunChange, steps: tuple[dict, ...], target: int) -> None:
    """Fail the run at the step it would visit next: a retry starts there, with a fresh budget."""
    error = {
        "code": "STEP_LIMIT_EXCEEDED",
        "message": f"the run would visit more than {MAX_STEPS_PER_RUN} steps",
        "details": {"limit": MAX_STEPS_PER_RUN},
    }
    change.move(
        statuses.FAILED,
        "WORKFLOW_FAILED",
        {"error": error},
        error=error,
        current_step_index=target,
        current_step_name=steps[target]["name"],
        current_step_run_id=None,
    )


def _record_failure(
    change: RunChange, run: WorkflowRun, step_run: StepRun, step: dict, outcome: Failed
) -> None:
    error = outcome.as_error()
    policy = type_of(step).retry_policy(step)
    retry = outcome.retryable and step_run.attempt < policy.max_attempts
    if outcome.updates:
        change.update(state={**run.state, **outcome.updates})
    change.move_step(
        step_run, statuses.FAILED, "STEP_FAILED", {"error": error, "willRetry": retry}, error=error
    )
    if not retry:
        change.move(statuses.FAILED, "WORKFLOW_FAILED", {"error": error}, error=error)
        return
    retry_at = change.now + datetime.timedelta(milliseconds=policy.backoff(step_run.attempt))
    payload = {
        "stepIndex": step_run.step_index,
        "stepName": step_run.step_name,
        "attempt": step_run.attempt + 1,
        "retryAt": iso_utc(retry_at),
    }
    change.event("STEP_RETRYING", payload, step_run)
    if run.status != statuses.RUNNING:
        change.move(statuses.RUNNING, None)  # a timeout while waiting: told by STEP_FAILED
    change.update(next_run_at=retry_at)


def _record_waiting(
    change: RunChange, run: WorkflowRun, step_run: StepRun, outcome: Waiting
) -> None:
    if run.status == statuses.WAITING:
        return  # Already waiting; `_keep_timer` puts the due time back.
    change.move_step(step_run, statuses.WAITING, None)
    payload = {
        "reason": outcome.reason,
        "signalType": outcome.signal_type,
        "until": iso_utc(outcome.until),
    }
    change.move(
        statuses.WAITING,
        "WORKFLOW_WAITING",
        payload,
        step_run=step_run,
        next_run_at=outcome.until,
    )


def _record_approval_request(
    change: RunChange, run: WorkflowRun, step_run: StepRun, outcome: AwaitingApproval
) -> None:
    if run.status == statuses.PAUSED:
        return  # Already asked; `_keep_timer` puts the expiry back.
    request = ApprovalRequest(
        id=new_id("apr"),
        workspace=run.workspace_id,
        run=run.id,
        step_run=step_run.id,
        attempt=step_run.attempt,
        step_name=step_run.step_name,
        content_key=outcome.content_key,
        content=outcome.content,
        prompt=outcome.prompt,
        expires_at=outcome.expires_at,
        created_at=change.now,
    )
    change.also(lambda: request.save(force_insert=True))
    change.move_step(
        step_run,
        statuses.WAITING,
        "APPROVAL_REQUESTED",
        {"approvalRequestId": request.id, "contentKey": outcome.content_key},
    )
    change.move(
        statuses.PAUSED,
        "WORKFLOW_PAUSED",
        {"approvalRequestId": request.id, "expiresAt": iso_utc(outcome.expires_at)},
        step_run=step_run,
        next_run_at=outcome.expires_at,
    )


def _keep_timer(run: WorkflowRun, outcome: Outcome) -> None:
    """A step still waiting records nothing, but its timer must stay its due time.

    The clock pushed the timer forward when it sent this command, in case it was lost.
    """
    if isinstance(outcome, Waiting):
        due = outcome.until
    elif isinstance(outcome, AwaitingApproval):
        due = outcome.expires_at
    else:
        return
    if run.next_run_at != due:
        set_timer(run, due)


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


def _consume(signal: Signal, step_run: StepRun) -> None:
    updated = (
        Signal.update(consumed_at=utcnow(), step_run=step_run.id)
        .where((Signal.id == signal.id) & Signal.consumed_at.is_null())
        .execute()
    )
    if updated != 1:
        raise RunConflict(f"signal {signal.id} was consumed meanwhile")


def _context(run: WorkflowRun, step_run: StepRun, step: dict) -> StepContext:
    kind = type_of(step)
    signal_type = kind.awaited_signal(step)
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
        signal=pending_signal(run.id, signal_type, step_run.id) if signal_type else None,
        approval=request_for(step_run) if kind.decided_by_approval else None,
    )


def _redrive(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(milliseconds=settings.redrive_after_ms)


def _index_of(steps: tuple[dict, ...], name: str) -> int:
    return next(index for index, step in enumerate(steps) if step["name"] == name)


def _signal_payload(signal: Signal) -> dict:
    return {"signalId": signal.id, "signalType": signal.signal_type, "source": signal.source}
