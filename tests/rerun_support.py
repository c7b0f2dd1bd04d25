"""What the rerun tests share: a definition, the call, its answer, and an original run."""

from __future__ import annotations

from models import statuses
from models.runs import WorkflowRun, events_of
from tests.support import create_run_over_http, wait_for_run

ADDS = [
    {"type": "task", "name": "first", "handler": "add", "config": {"amount": 2}},
    {"type": "task", "name": "second", "handler": "add", "config": {"amount": 3}},
    {"type": "task", "name": "third", "handler": "add", "config": {"amount": 5}},
]
SEND = {"type": "task", "name": "send", "handler": "echo", "config": {"sent": True}}


def post_rerun(client, auth, run_id: str, **body):
    """`POST /v1/workflow-runs/:id/rerun` with `body`; the API's answer, unchecked."""
    return client.simulate_post(f"/v1/workflow-runs/{run_id}/rerun", json=body, headers=auth)


def new_run_of(result, original_id: str) -> dict:
    """The new run a rerun answered 201 with."""
    assert result.status_code == 201, result.text
    data = result.json["data"]
    assert data["rerunOf"] == original_id and data["id"] != original_id
    assert data["status"] == statuses.PENDING
    return data


def run_to_end(client, auth, steps: list[dict], input: dict | None = None) -> str:
    """A run of `steps` to its end: its id."""
    run_id = create_run_over_http(client, auth, steps, input)
    assert wait_for_run(run_id).status == statuses.COMPLETED
    return run_id


def assert_untouched(run: WorkflowRun) -> None:
    """The run is as it was read: not one write, not one event more."""
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.status, stored.version, stored.updated_at) == (
        run.status,
        run.version,
        run.updated_at,
    )
    assert stored.state == run.state and len(events_of(run.id)) == run.version
