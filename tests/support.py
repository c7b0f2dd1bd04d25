"""Small helpers the tests share: making runs, and waiting on the database.

A run is made one of two ways. Through the API, as a client would (validated, published to
the broker): `post_run` to test the API's answer, `create_run_over_http` for a definition of
some steps and a run of it, whose id it returns. Or inserted directly (`insert_definition`,
`insert_run`), bypassing the API's validation and publishing, to test the workers (or one
operation) alone; `tests.run_states` walks such a run on into each status.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from models import config, statuses
from models.db import db
from models.definitions import WorkflowDefinition
from models.ids import new_id
from models.runs import WorkflowRun


def post_run(client, auth: dict, definition_id: str, **body: Any):
    """`POST /v1/workflow-runs` for `definition_id`; the API's answer, unchecked."""
    return client.simulate_post(
        "/v1/workflow-runs", json={"definitionId": definition_id, **body}, headers=auth
    )


def create_run_over_http(client, auth: dict, steps: list[dict], input: dict | None = None) -> str:
    """A definition of `steps` and a run of it, both created through the API; the run's id."""
    definition = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "flow", "version": str(time.monotonic_ns()), "steps": steps},
    )
    assert definition.status_code == 201, definition.json
    run = post_run(client, auth, definition.json["data"]["id"], input=input or {})
    assert run.status_code == 201, run.json
    return run.json["data"]["id"]


def insert_definition(workspace, steps: list[dict], name: str = "flow") -> WorkflowDefinition:
    """A definition inserted directly, bypassing API validation (to test the workers alone)."""
    return WorkflowDefinition.create(
        id=new_id("wfdef"), workspace=workspace, name=name, version=new_id("wfdef"), steps=steps
    )


def insert_run(
    definition: WorkflowDefinition, input: dict | None = None, state: dict | None = None
) -> WorkflowRun:
    """A PENDING run inserted directly, with no command sent and no timer: the test starts it.

    With `state`, the run starts from it, as a rerun does (its `initial_state`).
    """
    return WorkflowRun.create(
        id=new_id("wfrun"),
        workspace=definition.workspace_id,
        definition=definition,
        status=statuses.PENDING,
        input=input or {},
        state=state or {},
        initial_state=state or None,
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


def change_settings(monkeypatch, **changes) -> config.Settings:
    """This process's settings with `changes`, for one test (every part reads them there)."""
    changed = dataclasses.replace(config.current(), **changes)
    monkeypatch.setattr(config, "_current", changed)
    return changed
