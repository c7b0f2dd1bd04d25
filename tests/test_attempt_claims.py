"""No step attempt runs in two workers at once (ARCHITECTURE.md: claiming is a fenced write).

A second command for an attempt that a worker holds (the clock's redrive of a backed-up queue,
a redelivery after a connection blip, a signal message forged to look retried) is dropped
while the holder's heartbeat renews its lease; a worker that dies lets go within one lease.
"""

from __future__ import annotations

import time

from actors.runs import execute_step, start_run
from harness.invariants import assert_invariants
from models import statuses
from models.runs import WorkflowRun
from tests.support import create_run_over_http, wait_for_run
from tests.test_broker_signals import publish, signal
from tests.test_races_and_crashes import marks, patch_settings


def slow_second_step(client, auth, log, seconds: float) -> str:
    steps = [
        {"type": "task", "name": "first", "handler": "noop"},
        {
            "type": "task",
            "name": "slow",
            "handler": "marker",
            "config": {"path": str(log), "seconds": seconds},
        },
    ]
    return create_run_over_http(client, auth, steps)


def wait_for_mark(log, kind: str, count: int = 1, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(marks(log, kind)) < count:
        assert time.monotonic() < deadline, f"no {kind} mark in {log}"
        time.sleep(0.02)


def test_a_second_command_for_a_running_attempt_is_dropped(
    client, auth, broker, worker, monkeypatch, tmp_path
):
    # Given a run whose second step was handed to the broker and is in its handler
    patch_settings(monkeypatch, inline_step_limit=1)
    log = tmp_path / "calls"
    run_id = slow_second_step(client, auth, log, seconds=1.5)
    wait_for_mark(log, "start")
    run = WorkflowRun.get_by_id(run_id)
    assert run.leased_until is not None

    # When the same command arrives again, as the clock sends it for a backed-up queue
    for _ in range(3):
        execute_step.send(run_id, run.current_step_run_id, 1, 1)

    # Then the handler ran once, and the run completed once
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    time.sleep(0.3)
    assert len(marks(log, "start")) == 1 and len(marks(log, "end")) == 1
    assert done.leased_until is None
    assert_invariants([run_id], expect=lambda run: {statuses.COMPLETED})


def test_the_heartbeat_keeps_a_long_attempt_held_past_its_lease(
    client, auth, broker, worker, clock, monkeypatch, tmp_path
):
    # Given a handler that runs three leases long (the suite's lease is 2 s) and the clock on
    log = tmp_path / "calls"
    run_id = slow_second_step(client, auth, log, seconds=6)
    wait_for_mark(log, "start")

    # When the run's timer is watched while it runs
    timers = set()
    while not marks(log, "end"):
        timers.add(WorkflowRun.get_by_id(run_id).next_run_at)
        time.sleep(0.2)

    # Then the lease was renewed (the timer moved on) and nobody ran the attempt again
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    assert len(timers) >= 2
    assert len(marks(log, "start")) == 1


def test_a_signal_forged_to_look_retried_cannot_rerun_a_step(
    client, auth, broker, worker, tmp_path
):
    # Given a run in the middle of a slow handler
    log = tmp_path / "calls"
    run_id = slow_second_step(client, auth, log, seconds=1.5)
    wait_for_mark(log, "start")

    # When a publisher sends a signal whose options say it was retried (a "redelivery")
    publish({**signal(run_id, "anything", {}), "options": {"retries": 1}})

    # Then the handler still ran once
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    time.sleep(0.5)
    assert len(marks(log, "start")) == 1


def test_a_start_command_delivered_three_times_starts_once(client, auth, broker, worker, tmp_path):
    log = tmp_path / "calls"
    steps = [
        {"type": "task", "name": "slow", "handler": "marker", "config": {"path": str(log)}},
    ]
    run_id = create_run_over_http(client, auth, steps)
    start_run.send(run_id)
    start_run.send(run_id)
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    time.sleep(0.3)
    assert len(marks(log, "start")) == 1
