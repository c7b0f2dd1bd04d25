"""Creating a run (an idempotent insert; the caller sends `start_run` once committed), and
loading runs.
"""

from __future__ import annotations

import json
from typing import Any

from app.errors import NotFound
from app.lookup import find_in_workspace
from models import statuses
from models.base import utcnow
from models.definitions import Definition, WorkflowDefinition, definition_by_id
from models.ids import is_id, new_id
from models.operations import redrive_at
from models.runs import WorkflowRun
from models.workspaces import Workspace

#: The insert every new run makes: plain SQL on this hot path (see `models.runs.run_by_id`).
_INSERT_RUN = (
    "INSERT INTO workflow_run (id, workspace_id, definition_id, status, input, state,"
    " idempotency_key, next_run_at, version, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s::jsonb, '{}'::jsonb, %s, %s, 0, %s, %s)"
    " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING *"
)


def create_run(
    workspace: Workspace,
    definition: Definition,
    run_input: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[WorkflowRun, bool]:
    """Insert a PENDING run; return it and whether it is new.

    With an idempotency key already used in this workspace, nothing is inserted and the
    existing run is returned. `ON CONFLICT DO NOTHING` makes two concurrent requests with one
    key insert one row: the second waits for the first to commit, then inserts nothing.
    No event is written: the run's version counts its events, and WORKFLOW_STARTED is first.
    """
    now = utcnow()
    rows = list(
        WorkflowRun.raw(
            _INSERT_RUN,
            new_id("wfrun"),
            workspace.id,
            definition.id,
            statuses.PENDING,
            json.dumps(run_input),
            idempotency_key,
            redrive_at(),  # the clock re-sends start_run if this run is still PENDING then
            now,
            now,
        )
    )
    if rows:
        run = rows[0]
        # Name and version for the answer, without a query.
        run.definition = WorkflowDefinition(
            id=definition.id,
            workspace=definition.workspace_id,
            name=definition.name,
            version=definition.version,
        )
        return run, True
    existing = (WorkflowRun.workspace == workspace.id) & (
        WorkflowRun.idempotency_key == idempotency_key
    )
    return _with_definition(existing), False


def find_definition(workspace: Workspace, definition_id: str) -> Definition:
    """The definition a new run names, from this process's cache when seen before."""
    if is_id(definition_id, "wfdef"):
        try:
            definition = definition_by_id(definition_id)
        except WorkflowDefinition.DoesNotExist:
            definition = None
        if definition is not None and definition.workspace_id == workspace.id:
            return definition
    raise NotFound(f"no workflow definition with id {definition_id!r} in this workspace")


def select_runs() -> Any:
    """Runs with the name and version of their definition, which every run answer shows."""
    return WorkflowRun.select(
        WorkflowRun, WorkflowDefinition.id, WorkflowDefinition.name, WorkflowDefinition.version
    ).join(WorkflowDefinition)


def find_run(workspace: Workspace, run_id: str) -> WorkflowRun:
    """A run of `workspace` with its definition's name and version, or `NotFound`."""
    return find_in_workspace(WorkflowRun, "wfrun", run_id, workspace, "workflow run", select_runs())


def _with_definition(where: Any) -> WorkflowRun:
    return select_runs().where(where).get()
