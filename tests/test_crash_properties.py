"""Generated definitions on a real worker process that dies in the middle of steps: every run
still ends where it should, and no handler ran twice for one attempt unless its worker died.

The worker (`dramatiq actors`, a subprocess) is SIGKILLed, its whole process group, by a
`crash_once` step the first time each of its attempts runs, and started again at once; the
dead worker's lease runs out and the clock sends the attempt again. Small by default;
`HYPOTHESIS_PROFILE=long` runs more.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.invariants import assert_invariants
from harness.processes import kill, spawn, worker_command
from models import statuses
from models.runs import WorkflowRun
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL
from tests.support import post_run
from tests.test_properties import PROFILE, definitions, input_refusal, run_input

settings.register_profile("crash-ci", settings.get_profile("ci"), max_examples=4)
settings.register_profile("crash-long", settings.get_profile("long"), max_examples=40)


@pytest.fixture
def restarted_worker(tmp_path):
    """A worker process, started again whenever it dies, until the test ends."""
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
    }
    stop = threading.Event()
    starts: list = []

    def supervise() -> None:
        while not stop.is_set():
            if not starts or starts[-1].poll() is not None:
                log = tmp_path / f"worker{len(starts)}.log"
                starts.append(spawn(worker_command(1, 4), env, log))
            stop.wait(0.05)

    thread = threading.Thread(target=supervise, daemon=True)
    thread.start()
    yield starts
    stop.set()
    thread.join()
    for process in starts:
        kill(process)


@st.composite
def crashing_definitions(draw) -> list[dict]:
    """Generated steps with one or two `crash_once` steps put in; jumps only go forward (the
    step limit cannot be lowered in another process, and 10,000-step loops are slow)."""
    steps = draw(definitions())
    for number in range(draw(st.integers(1, 2))):
        crash = {"type": "task", "name": f"crash{number}", "handler": "crash_once"}
        steps.insert(draw(st.integers(0, len(steps))), crash)
    names = [step["name"] for step in steps]
    for index, step in enumerate(steps):
        for branch in ("trueStep", "falseStep"):
            if branch in step and names.index(step[branch]) <= index:
                del step[branch]
    return steps


@settings(settings.get_profile(f"crash-{PROFILE}"))
@given(steps=crashing_definitions(), run_input_value=run_input)
def test_runs_survive_workers_killed_mid_step(
    client, auth, clock, restarted_worker, tmp_path, steps, run_input_value
):
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    starts_before = len(restarted_worker)
    for step in steps:
        if step.get("handler") == "crash_once":
            step["config"] = {"dir": str(folder)}
        elif step.get("handler") == "probe":
            step["config"] = {**step["config"], "log": str(folder / "calls")}
    created = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "crashing", "version": str(time.monotonic_ns()), "steps": steps},
    )
    if created.status_code == 400:
        return  # unstorable generated text: the edge's refusal is tested in test_properties
    assert created.status_code == 201, created.json
    response = post_run(client, auth, created.json["data"]["id"], input=run_input_value)
    refusal = input_refusal(run_input_value)
    if refusal is not None:  # the edge's answer to inputs past its limits
        assert (response.status_code, response.json["error"]["code"]) == refusal
        return
    assert response.status_code == 201, response.json
    run_id = response.json["data"]["id"]

    deadline = time.monotonic() + 90
    while WorkflowRun.get_by_id(run_id).status not in statuses.FINAL_RUN_STATUSES:
        assert time.monotonic() < deadline, f"run still {WorkflowRun.get_by_id(run_id).status}"
        time.sleep(0.05)

    assert_invariants([run_id], expect=lambda run: statuses.FINAL_RUN_STATUSES)
    calls_file = folder / "calls"
    calls = Counter(calls_file.read_text().split("\n")[:-1]) if calls_file.exists() else {}
    died = {tuple(path.name.rsplit("-", 1)) for path in folder.iterdir() if path.name != "calls"}
    # Each attempt that killed its worker was carried on by a new one.
    assert len(restarted_worker) - starts_before >= len(died)
    for call, count in calls.items():
        step_run_id, attempt = call.split()
        allowed = 2 if (step_run_id, attempt) in died else 1
        assert count <= allowed, f"{call} ran {count} times"
