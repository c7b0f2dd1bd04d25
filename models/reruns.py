"""Reruns (SPEC section 8): where a rerun of a run from one of its steps starts, and its insert.

The state a run had when it entered a step is folded back from its step runs
(`models.state_history`). A step run is an entry into its step, loops and retries of the run
included (a retried run starts a new step run; the attempts of one step run are one entry); a
step a condition jumped over (SKIPPED) was not entered.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from models import statuses
from models.base import utcnow
from models.db import db
from models.definitions import definition_steps
from models.errors import InvalidFields
from models.ids import new_id
from models.operations import NotAllowed
from models.runs import WorkflowRun
from models.state_history import Visit, fold, visits_of

_INSERT_RERUN = (
    "INSERT INTO workflow_run (id, workspace_id, definition_id, status, current_step_index,"
    " current_step_name, input, state, initial_state, rerun_of, idempotency_key, next_run_at,"
    " version, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s, %s, %s, 0, %s, %s)"
    " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING *"
)


@dataclass(frozen=True)
class StartingPoint:
    """Where a rerun of a run from one of its steps starts."""

    step_index: int
    step_name: str
    #: The state the run had when it last entered that step.
    state: dict[str, Any]


def starting_point(run_id: str, step_name: str) -> StartingPoint:
    """Where a rerun of the final run `run_id` from `step_name` starts.

    The run and its step runs are read in one snapshot: a FAILED run retried meanwhile is
    rerun as it was when it had failed.

    Raises:
      InvalidFields: the definition has no such step, or the run never entered it.
      NotAllowed: the run is not final, or its step runs do not tell its past states (it
        was created before they did, or they do not add up to its state).
    """
    run, visits = _snapshot(run_id)
    if run is None:
        raise NotAllowed(f"run {run_id} was deleted meanwhile")
    steps = definition_steps(run.definition_id)
    index = next((i for i, step in enumerate(steps) if step["name"] == step_name), None)
    if index is None:
        raise _bad_step(f"the definition has no step named {step_name!r}")
    if run.status not in statuses.FINAL_RUN_STATUSES:
        raise NotAllowed(f"a {run.status} run cannot be rerun: only COMPLETED, FAILED or CANCELLED")
    if run.legacy_history:
        raise NotAllowed(
            f"run {run.id} was created before step runs recorded what they merged into state: "
            "its state at each step is not known"
        )
    if fold(run.initial_state, visits) != run.state:
        raise NotAllowed(f"the step runs of run {run.id} do not add up to its state")
    entries = [
        number
        for number, visit in enumerate(visits)
        if visit.step_name == step_name and visit.status != statuses.SKIPPED
    ]
    if not entries:
        raise _bad_step(f"run {run.id} never entered step {step_name!r} (a skipped step was not)")
    return StartingPoint(index, step_name, fold(run.initial_state, visits[: entries[-1]]))


def _snapshot(run_id: str) -> tuple[WorkflowRun | None, list[Visit]]:
    with db.atomic():
        db.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        run = next(iter(WorkflowRun.raw("SELECT * FROM workflow_run WHERE id = %s", run_id)), None)
        return run, visits_of(run_id)


def _bad_step(message: str) -> InvalidFields:
    return InvalidFields(message, [{"field": "fromStep", "message": message}])


def insert_rerun(
    original: WorkflowRun,
    start: StartingPoint,
    run_input: dict[str, Any],
    state: dict[str, Any],
    idempotency_key: str | None,
    next_run_at: datetime.datetime,
) -> WorkflowRun | None:
    """Insert the PENDING rerun of `original` at `start` with `input` and `state`; None when
    the workspace has a run with this idempotency key (`models.runs.insert_run`'s conflict).

    The run's current step is the one it will start at (`actors.driver.start`).
    """
    now = utcnow()
    document = json.dumps(state)
    rows = WorkflowRun.raw(
        _INSERT_RERUN,
        new_id("wfrun"),
        original.workspace_id,
        original.definition_id,
        statuses.PENDING,
        start.step_index,
        start.step_name,
        json.dumps(run_input),
        document,
        document if state else None,
        original.id,
        idempotency_key,
        next_run_at,
        now,
        now,
    )
    return next(iter(rows), None)


def started_payload(run: WorkflowRun, step_name: str) -> dict[str, Any] | None:
    """WORKFLOW_STARTED's payload: a rerun names its original and the step it starts at."""
    if run.rerun_of is None:
        return None
    return {"rerunOf": run.rerun_of, "fromStep": step_name}
