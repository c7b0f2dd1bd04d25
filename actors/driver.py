"""Drive a run forward: run its current step, record the outcome, go on while it is cheap.

Each step's outcome and the start of the next step are committed together in one transaction,
so a run that goes step after step in one worker costs one commit a step. The chain hands the
rest to the broker after `inline_step_limit` steps or `inline_time_budget_ms`, so one long run
cannot hold a worker thread.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable

from actors.steps import Completed, Failed, Outcome, StepContext, run_step
from models import statuses
from models.config import settings
from models.definitions import definition_steps
from models.errors import RunConflict
from models.runs import StepRun, WorkflowRun, run_by_id, step_run_by_id
from models.transitions import RunChange

logger = logging.getLogger(__name__)

#: Largest serialized state a run may carry (SPEC section 1).
MAX_STATE_BYTES = 256 * 1024

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
    try:
        change.commit()
    except RunConflict:
        logger.info("start_run %s dropped: the run moved meanwhile", run_id)
        return
    drive(run, step_run, steps, hand_off)


def resume(run_id: str, step_run_id: str, attempt: int, hand_off: HandOff) -> None:
    """Run the step a command names, if the run is still at that step and attempt."""
    run = run_by_id(run_id)
    step_run = step_run_by_id(step_run_id)
    if not is_current(run, step_run, attempt):
        logger.info("execute_step %s/%s#%s dropped: stale", run_id, step_run_id, attempt)
        return
    drive(run, step_run, definition_steps(run.definition_id), hand_off)


def is_current(run: WorkflowRun | None, step_run: StepRun | None, attempt: int) -> bool:
    """The fence: the command is about the step run and attempt the run is at right now."""
    return (
        run is not None
        and step_run is not None
        and step_run.run_id == run.id
        and run.status == statuses.RUNNING
        and step_run.status == statuses.RUNNING
        and step_run.attempt == attempt
        and run.current_step_index == step_run.step_index
    )


def drive(run: WorkflowRun, step_run: StepRun, steps: tuple[dict, ...], hand_off: HandOff) -> None:
    """Run steps back to back from `step_run`, one commit each, within the inline budget."""
    deadline = time.monotonic() + settings.inline_time_budget_ms / 1000
    for _ in range(settings.inline_step_limit):
        step = steps[step_run.step_index]
        outcome = run_step(step, _context(run, step_run))
        change = RunChange(run)
        next_step_run = record(change, run, step_run, outcome, steps)
        try:
            change.commit()
        except RunConflict:
            logger.info("run %s moved while step %s ran; outcome dropped", run.id, step["name"])
            return
        if next_step_run is None:
            return
        step_run = next_step_run
        if time.monotonic() >= deadline:
            break
    hand_off(run.id, step_run.id, step_run.step_index, step_run.attempt)


def record(
    change: RunChange,
    run: WorkflowRun,
    step_run: StepRun,
    outcome: Outcome,
    steps: tuple[dict, ...],
) -> StepRun | None:
    """Add a step's outcome to `change`; return the next step run it starts, if any."""
    if isinstance(outcome, Completed):
        state = {**run.state, **outcome.updates}
        if len(json.dumps(state)) > MAX_STATE_BYTES:
            outcome = Failed(
                "STATE_TOO_LARGE",
                f"the run's state would exceed {MAX_STATE_BYTES} bytes",
                retryable=False,
            )
    if isinstance(outcome, Failed):
        error = outcome.as_error()
        change.move_step(step_run, statuses.FAILED, "STEP_FAILED", {"error": error}, error=error)
        change.move(statuses.FAILED, "WORKFLOW_FAILED", {"error": error}, error=error)
        return None
    change.move_step(
        step_run,
        statuses.COMPLETED,
        "STEP_COMPLETED",
        output=outcome.updates,
    )
    change.update(state=state)
    next_index = step_run.step_index + 1 if outcome.jump_to is None else outcome.jump_to
    if next_index >= len(steps):
        change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output=state)
        return None
    step = steps[next_index]
    return change.start_step(next_index, step["name"], step["type"])


def _context(run: WorkflowRun, step_run: StepRun) -> StepContext:
    return StepContext(
        run_id=run.id,
        workspace_id=run.workspace_id,
        step_name=step_run.step_name,
        attempt=step_run.attempt,
        input=copy.deepcopy(run.input),
        state=copy.deepcopy(run.state),
    )
