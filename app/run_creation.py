"""Creating a run or a rerun (an idempotent insert; the caller sends `start_run` once
committed), and loading runs.
"""

from __future__ import annotations

from typing import Any

from actors.concurrency_keys import KeyUnrendered, concurrency_key
from app.errors import NotFound
from app.lookup import find_in_workspace
from models.definitions import Definition, WorkflowDefinition, definition_by_id
from models.ids import is_id
from models.operations import redrive_at
from models.reruns import StartingPoint, insert_rerun
from models.runs import WorkflowRun, insert_run, run_by_idempotency_key, run_in_workspace
from models.validation import Problems
from models.workspaces import Workspace


def create_run(
    workspace: Workspace,
    definition: Definition,
    run_input: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[WorkflowRun, bool]:
    """Insert a PENDING run; return it and whether it is new.

    With an idempotency key already used in this workspace, nothing is inserted and the
    existing run is returned, also when two requests with one key race.
    No event is written: the run's version counts its events, and WORKFLOW_STARTED is first.
    An input that gives the definition's concurrency key no value raises `InvalidFields`.
    """
    problems = Problems()
    key = key_of_run(definition, run_input, problems, "input")
    problems.raise_if_any()
    # The clock re-sends start_run if the run is still PENDING at `redrive_at()`.
    run = insert_run(
        workspace.id, definition.id, run_input, idempotency_key, redrive_at(), concurrency_key=key
    )
    if run is None:
        return run_by_idempotency_key(workspace.id, idempotency_key), False
    # Name and version for the answer, without a query.
    run.definition = WorkflowDefinition(
        id=definition.id,
        workspace=definition.workspace_id,
        name=definition.name,
        version=definition.version,
    )
    return run, True


def create_rerun(
    original: WorkflowRun,
    start: StartingPoint,
    run_input: dict[str, Any],
    state: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[WorkflowRun, bool]:
    """Insert the PENDING rerun of `original` from `start`; return it and whether it is new,
    the idempotency key taken as `create_run` takes it."""
    run = insert_rerun(original, start, run_input, state, idempotency_key, redrive_at())
    if run is None:
        return run_by_idempotency_key(original.workspace_id, idempotency_key), False
    run.definition = original.definition  # the same definition: its name and version
    return run, True


def run_with_key(workspace: Workspace, idempotency_key: str | None) -> WorkflowRun | None:
    """The run the workspace created with this idempotency key, if any."""
    if idempotency_key is None:
        return None
    try:
        return run_by_idempotency_key(workspace.id, idempotency_key)
    except WorkflowRun.DoesNotExist:
        return None


def key_of_run(
    definition: Definition, run_input: dict[str, Any], problems: Problems, field: str
) -> str | None:
    """The concurrency key of a new run (None without a limit); a problem of `field` when the
    input gives the key no value."""
    try:
        return concurrency_key(definition.concurrency, run_input)
    except KeyUnrendered as exc:
        problems.add(field, str(exc))
        return None


def definition_of_workspace(workspace_id: str, definition_id: str) -> Definition | None:
    """The definition a new run (or schedule) names, from this process's cache when seen
    before; None when the workspace has none with that id (or it is no definition id)."""
    if not is_id(definition_id, "wfdef"):
        return None
    try:
        definition = definition_by_id(definition_id)
    except WorkflowDefinition.DoesNotExist:
        return None
    return definition if definition.workspace_id == workspace_id else None


def find_definition(workspace: Workspace, definition_id: str) -> Definition:
    """The definition a new run names, or `NotFound`."""
    definition = definition_of_workspace(workspace.id, definition_id)
    if definition is None:
        raise NotFound(f"no workflow definition with id {definition_id!r} in this workspace")
    return definition


def find_run(workspace: Workspace, run_id: str) -> WorkflowRun:
    """A run of `workspace` with its definition's name and version, or `NotFound`."""
    return find_in_workspace(run_in_workspace, "wfrun", run_id, workspace, "workflow run")
