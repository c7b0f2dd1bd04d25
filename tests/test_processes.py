"""The real processes end to end: gunicorn and a dramatiq worker as the Procfile runs them.

Everything else in the suite runs the app and the actors in-process; this checks that the
commands an operator starts find their settings, talk to each other through RabbitMQ, and
complete a run over real HTTP.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from harness.processes import (
    WEB,
    ProcessFailed,
    free_port,
    spawn,
    stop,
    wait_healthy,
    worker_command,
)
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL

#: Longest a run gets to complete.
DEADLINE_SECONDS = 20


@pytest.fixture
def system(tmp_path):
    """gunicorn and a dramatiq worker on the suite's database and vhost; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    commands = {"web": WEB, "worker": worker_command(1, 2)}
    logs, processes = [], []
    try:
        for name, args in commands.items():
            logs.append(tmp_path / f"{name}.log")
            processes.append(spawn(args, env, logs[-1]))
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, processes, logs)
        except ProcessFailed as exc:
            pytest.fail(str(exc))
        yield url
    finally:
        for process in processes:
            stop(process)


def _wait_completed(session: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        run = session.get(url, timeout=5).json()["data"]
        if run["status"] not in ("PENDING", "RUNNING"):
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"the run is still {run['status']} after {DEADLINE_SECONDS}s")
        time.sleep(0.05)


def test_a_run_completes_through_gunicorn_and_a_dramatiq_worker(system, workspace):
    # Given the web and worker processes, and a definition of two task steps
    session = requests.Session()
    session.headers["x-api-key"] = workspace[1]
    definition = session.post(
        f"{system}/v1/workflow-definitions",
        json={
            "name": "greet-and-add",
            "version": "1",
            "steps": [
                {"type": "task", "name": "greet", "handler": "echo", "config": {"hi": "there"}},
                {"type": "task", "name": "add", "handler": "add", "config": {"amount": 2}},
            ],
        },
        timeout=5,
    )
    assert definition.status_code == 201, definition.text

    # When a run is created over HTTP, twice with one idempotency key
    body = {
        "definitionId": definition.json()["data"]["id"],
        "input": {"start": 40},
        "idempotencyKey": "order-1",
    }
    created = session.post(f"{system}/v1/workflow-runs", json=body, timeout=5)
    repeated = session.post(f"{system}/v1/workflow-runs", json=body, timeout=5)

    # Then the worker completes it once, with the handlers' results in its state and output
    assert created.status_code == 201, created.text
    assert repeated.status_code == 200, repeated.text
    run_id = created.json()["data"]["id"]
    assert repeated.json()["data"]["id"] == run_id
    run = _wait_completed(session, f"{system}/v1/workflow-runs/{run_id}")
    assert run["status"] == "COMPLETED", run
    assert run["state"] == run["output"] == {"hi": "there", "total": 42}
    assert [step["stepName"] for step in run["stepRuns"]] == ["greet", "add"]
    events = session.get(f"{system}/v1/workflow-runs/{run_id}/events", timeout=5).json()["data"]
    assert [event["eventType"] for event in events] == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]


def test_stevora_migrate_finds_nothing_to_apply_on_a_migrated_database():
    # Given the suite's database, migrated by the session fixture
    # When an operator runs the release step (which needs no task handlers: the suite's live in
    # `tests`, which a console script cannot import)
    env = {name: value for name, value in os.environ.items() if name != "STEVORA_HANDLERS"}
    result = subprocess.run(
        ["stevora", "migrate"],
        env={**env, "DATABASE_URL": TEST_DATABASE_URL},
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then it succeeds and applies nothing
    assert result.returncode == 0, result.stderr
    assert "Nothing to apply" in result.stdout
