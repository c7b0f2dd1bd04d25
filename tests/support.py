"""Small helpers the tests share: building rows directly and waiting on the database."""

from __future__ import annotations

import time

from models import statuses
from models.db import db
from models.definitions import WorkflowDefinition
from models.ids import new_id
from models.runs import WorkflowRun


def make_definition(workspace, steps: list[dict], name: str = "flow") -> WorkflowDefinition:
    """A definition inserted directly, bypassing API validation (to test the workers alone)."""
    return WorkflowDefinition.create(
        id=new_id("wfdef"), workspace=workspace, name=name, version=new_id("wfdef"), steps=steps
    )


def make_run(definition: WorkflowDefinition, input: dict | None = None) -> WorkflowRun:
    return WorkflowRun.create(
        id=new_id("wfrun"),
        workspace=definition.workspace_id,
        definition=definition,
        status=statuses.PENDING,
        input=input or {},
    )


def wait_for_run(
    run_id: str, wanted=statuses.FINAL_RUN_STATUSES, timeout: float = 10.0
) -> WorkflowRun:
    """Poll the database until the run reaches one of `wanted` statuses."""
    deadline = time.monotonic() + timeout
    while True:
        with db.atomic():
            run = WorkflowRun.get_by_id(run_id)
        if run.status in wanted:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run.status}, not in {wanted} after {timeout}s")
        time.sleep(0.02)


def create_run(client, auth, steps: list[dict], input: dict | None = None) -> str:
    """Create a definition of `steps` and a run of it over HTTP; the run's id."""
    definition = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "flow", "version": str(time.monotonic_ns()), "steps": steps},
    )
    assert definition.status_code == 201, definition.json
    run = client.simulate_post(
        "/v1/workflow-runs",
        headers=auth,
        json={"definitionId": definition.json["data"]["id"], "input": input or {}},
    )
    assert run.status_code == 201, run.json
    return run.json["data"]["id"]
