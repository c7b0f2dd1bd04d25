"""How each outcome of a step is recorded: what it adds to the run's change, in one transaction.

Completed moves on to the next step (or a jump's target, the steps passed over SKIPPED, or the
end of the run); Failed retries by the step's policy or fails the run; Waiting and
AwaitingApproval leave the run with a timer. LLM calls travel with any outcome and are stored.
A run a user paused while its step ran (`models.pausing`) has the step's end recorded, and goes
no further until unpaused.
"""

from __future__ import annotations

import datetime
import decimal
import functools

from actors import leases
from actors.attempts import storable
from actors.steps import AwaitingApproval, Completed, Failed, Outcome, Waiting, type_of
from actors.steps.outcomes import LlmCall
from models import config, statuses
from models.approvals import ApprovalRequest, close_request
from models.base import iso_utc
from models.ids import new_id
from models.llm_calls import insert_calls
from models.pausing import hold_between_steps, manually_paused
from models.runs import StepRun, WorkflowRun
from models.signals import FROM_BROKER, Signal, consume_signal
from models.transitions import RunChange, set_timer

#: A run that visits more steps than this, executed or skipped, fails (loops included).
MAX_STEPS_PER_RUN = 10_000


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
    change.also(lambda: insert_calls(rows))
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
        change.also(lambda: consume_signal(signal.id, step_run.id))
        if signal.source == FROM_BROKER:
            change.event("SIGNAL_RECEIVED", _signal_payload(signal), step_run)
    if run.status in statuses.HELD_RUN_STATUSES and not manually_paused(run):
        change.move(statuses.RUNNING, None)  # told by the events that follow
    output = outcome.updates if outcome.output is None else outcome.output
    merged = _state_updates(step_run, outcome.updates, output_is_updates=outcome.output is None)
    change.move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED", output=output, **merged)
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
    if manually_paused(run):
        hold_between_steps(change, steps, target)  # unpause goes on from there
        return None
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


def _state_updates(step_run: StepRun, updates: dict, *, output_is_updates: bool) -> dict:
    """The `state_updates` column to write with an outcome (as move_step fields, or none).

    It holds what every attempt of the step run merged into state, so that the run's state at
    each step can be folded back (`models.state_history`); it stays NULL while that is the
    step run's output, as for a task that completed at its first merging attempt.
    """
    if output_is_updates and step_run.state_updates is None:
        return {}
    return {"state_updates": {**(step_run.state_updates or {}), **updates}}


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
    merged = {}
    if outcome.updates:
        change.update(state={**run.state, **outcome.updates})
        merged = _state_updates(step_run, outcome.updates, output_is_updates=False)
    if run.status == statuses.PAUSED:
        # An approval step failed undecided (APPROVAL_TIMEOUT): retried or not, the run no
        # longer waits on that attempt's request.
        change.also(functools.partial(close_request, step_run, change.now))
    change.move_step(
        step_run,
        statuses.FAILED,
        "STEP_FAILED",
        {"error": error, "willRetry": retry},
        error=error,
        **merged,
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
    if manually_paused(run):
        change.update(paused_due_at=retry_at)  # a paused run holds no timer: unpause sets it
        return
    if run.status != statuses.RUNNING:
        change.move(statuses.RUNNING, None)  # a timeout while waiting: told by STEP_FAILED
    change.update(next_run_at=retry_at)


def _record_waiting(
    change: RunChange, run: WorkflowRun, step_run: StepRun, outcome: Waiting
) -> None:
    if run.status == statuses.WAITING:
        return  # Already waiting; `keep_timer` puts the due time back.
    if manually_paused(run):
        return  # Its attempt runs again on unpause.
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
        return  # Already asked; `keep_timer` puts the expiry back.
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
        {
            "reason": statuses.APPROVAL,
            "approvalRequestId": request.id,
            "expiresAt": iso_utc(outcome.expires_at),
        },
        step_run=step_run,
        next_run_at=outcome.expires_at,
    )


def keep_timer(run: WorkflowRun, outcome: Outcome) -> None:
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


def _redrive(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(milliseconds=config.current().redrive_after_ms)


def _index_of(steps: tuple[dict, ...], name: str) -> int:
    return next(index for index, step in enumerate(steps) if step["name"] == name)


def _signal_payload(signal: Signal) -> dict:
    return {"signalId": signal.id, "signalType": signal.signal_type, "source": signal.source}
