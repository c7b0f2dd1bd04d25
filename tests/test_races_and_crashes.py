"""Races and crashes on the real services: what ARCHITECTURE.md promises when things go wrong.

A user and a worker move one run at once, two requests or two clocks race, the broker
delivers every command twice or loses one, a worker process dies in the middle of a step. In
each case the database must end as if nothing had gone wrong: one outcome per step, a
version equal to the length of the event log.
"""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import actors.clock
import actors.driver
import actors.recording
from actors.runs import start_run
from actors.signals import deliver_signal
from harness.processes import kill, spawn, worker_command
from models import statuses
from models.base import utcnow
from models.config import current
from models.db import db
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.signals import Signal
from tests.api_support import wait_until
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL
from tests.support import (
    change_settings,
    create_run_over_http,
    insert_definition,
    insert_run,
    wait_for_run,
)

#: Redrive interval for the tests that lose a command: short, so the clock re-sends quickly.
SHORT_REDRIVE_MS = 300


def events(run_id: str) -> list[RunEvent]:
    return events_of(run_id)


def event_types(run_id: str) -> list[str]:
    return [event.event_type for event in events(run_id)]


def step_runs(run_id: str) -> list[StepRun]:
    return list(StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id))


def steps_of(run_id: str) -> list[tuple[str, str, int]]:
    return [(s.step_name, s.status, s.attempt) for s in step_runs(run_id)]


def completions_per_step_run(run_id: str) -> dict[str, int]:
    """How many STEP_COMPLETED events each step run of the run has (0 for none)."""
    counts = {step_run.id: 0 for step_run in step_runs(run_id)}
    for event in events(run_id):
        if event.event_type == "STEP_COMPLETED":
            counts[event.step_run_id] += 1
    return counts


def assert_version_counts_events(run_id: str) -> None:
    run = WorkflowRun.get_by_id(run_id)
    assert run.version == len(events(run_id))


def marks(path: Path, kind: str) -> list[str]:
    """The lines the `marker` handler wrote of `kind` ("start" or "end")."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.startswith(kind + " ")]


def patch_settings(monkeypatch, **changes) -> None:
    """Change this process's settings for one test: `redrive_after_ms` is read by the
    recording of outcomes, the clock and the run operations; `inline_step_limit` by the driver.
    """
    change_settings(monkeypatch, **changes)


def settle(broker, worker) -> None:
    """Wait until the queues are empty and the worker has finished what it took."""
    for queue in ("runs", "steps", "signals"):
        broker.join(queue, min_successes=3, idle_time=50, timeout=10_000)
    worker.join()


# 1. A user cancels while a worker runs the step.


def test_a_cancel_while_the_handler_runs_wins_and_the_step_records_nothing(
    client, auth, broker, worker, tmp_path
):
    # Given a run whose first task is in its handler
    log = tmp_path / "calls"
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "slow",
                "handler": "marker",
                "config": {"path": str(log), "seconds": 0.8},
            },
            {"type": "task", "name": "after", "handler": "echo", "config": {"after": True}},
        ],
    )
    wait_until(lambda: marks(log, "start"))

    # When it is cancelled over HTTP before the handler returns
    cancelled = client.simulate_post(f"/v1/workflow-runs/{run_id}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.json
    assert marks(log, "end") == [], "the handler returned before the cancel: no race tested"
    wait_until(lambda: marks(log, "end"))
    settle(broker, worker)

    # Then the cancel stands and the handler's result was dropped
    run = WorkflowRun.get_by_id(run_id)
    assert run.status == statuses.CANCELLED
    assert run.state == {} and run.output is None
    assert steps_of(run_id) == [("slow", statuses.CANCELLED, 1)]
    assert event_types(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "WORKFLOW_CANCELLED",
    ]
    assert_version_counts_events(run_id)


# 2. Two users resume one run at once.


def test_two_resumes_at_once_one_wins_and_the_run_goes_on_once(client, auth, worker):
    # Given runs waiting for a signal
    steps = [
        {"type": "external_event", "name": "pay", "signalType": "paid"},
        {"type": "task", "name": "ship", "handler": "echo", "config": {"shipped": True}},
    ]
    run_ids = [create_run_over_http(client, auth, steps) for _ in range(5)]
    for run_id in run_ids:
        wait_for_run(run_id, (statuses.WAITING,))

    for run_id in run_ids:
        # When two clients resume the same run at the same moment
        barrier = threading.Barrier(2)

        def resume(who: str, run_id: str = run_id, barrier: threading.Barrier = barrier):
            barrier.wait()
            return client.simulate_post(
                f"/v1/workflow-runs/{run_id}/resume",
                headers=auth,
                json={"signalType": "paid", "payload": {"by": who}},
            )

        with ThreadPoolExecutor(2) as pool:
            answers = dict(zip("ab", pool.map(resume, "ab"), strict=True))

        # Then exactly one is accepted and the other refused, and only the winner's signal counts
        codes = sorted(answer.status_code for answer in answers.values())
        assert codes == [200, 409], {who: a.json for who, a in answers.items()}
        winner = next(who for who, answer in answers.items() if answer.status_code == 200)
        loser = answers["b" if winner == "a" else "a"]
        assert loser.json["error"]["code"] == "CONFLICT"

        done = wait_for_run(run_id)
        assert done.status == statuses.COMPLETED
        assert done.state == {"by": winner, "shipped": True}
        signals = list(Signal.select().where(Signal.run == run_id))
        assert len(signals) == 1 and signals[0].payload == {"by": winner}
        assert signals[0].consumed_at is not None
        assert event_types(run_id).count("SIGNAL_RECEIVED") == 1
        assert list(completions_per_step_run(run_id).values()) == [1, 1]
        assert_version_counts_events(run_id)


# 3. Two clocks at once.


def test_two_clocks_fire_each_wait_timer_once(client, auth, worker, monkeypatch):
    # Given two clocks ticking side by side, each command they send recorded (and sent)
    sent: list[actors.clock.Command] = []
    send = actors.clock.Command.send

    def record_and_send(command: actors.clock.Command) -> None:
        sent.append(command)
        send(command)

    monkeypatch.setattr(actors.clock.Command, "send", record_and_send)
    stops = [threading.Event(), threading.Event()]
    clocks = [threading.Thread(target=actors.clock.run, args=(stop, current())) for stop in stops]
    for thread in clocks:
        thread.start()
    try:
        # When thirty runs each wait 200 ms
        steps = [
            {"type": "wait", "name": "nap", "durationMs": 200},
            {"type": "task", "name": "after", "handler": "echo", "config": {"woke": True}},
        ]
        run_ids = [create_run_over_http(client, auth, steps) for _ in range(30)]
        done = [wait_for_run(run_id, timeout=15) for run_id in run_ids]
    finally:
        for stop in stops:
            stop.set()
        for thread in clocks:
            thread.join(timeout=5)

    # Then every run completes, and each timer was fired once, by one clock
    assert [run.status for run in done] == [statuses.COMPLETED] * len(run_ids)
    for run_id in run_ids:
        assert event_types(run_id) == [
            "WORKFLOW_STARTED",
            "STEP_STARTED",
            "WORKFLOW_WAITING",
            "STEP_COMPLETED",
            "STEP_STARTED",
            "STEP_COMPLETED",
            "WORKFLOW_COMPLETED",
        ]
        assert list(completions_per_step_run(run_id).values()) == [1, 1]
        assert_version_counts_events(run_id)
        nap = step_runs(run_id)[0]
        assert [(c.step_run_id, c.attempt) for c in sent if c.run_id == run_id] == [(nap.id, 1)]


def test_two_clocks_claiming_at_once_split_the_due_runs(workspace):
    # Given a hundred runs whose timers are due
    definition = insert_definition(workspace[0], [{"type": "task", "name": "t", "handler": "noop"}])
    due = {insert_run(definition).id for _ in range(100)}
    past = utcnow() - datetime.timedelta(seconds=1)

    for _ in range(5):
        WorkflowRun.update(next_run_at=past).execute()
        barrier = threading.Barrier(2)

        def claim(_: int, barrier: threading.Barrier = barrier) -> list[str]:
            with db.connection_context():
                barrier.wait()
                return [command.run_id for command in actors.clock.due_commands()]

        # When two clocks claim them at the same moment
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(claim, range(2))

        # Then each due run is claimed once, by one of them, and its timer is pushed ahead
        assert len(first) == len(set(first)) and len(second) == len(set(second))
        assert set(first) & set(second) == set()
        assert set(first) | set(second) == due
        assert WorkflowRun.select().where(WorkflowRun.next_run_at <= utcnow()).count() == 0


# 4. The broker delivers every command twice.

MIXED = [
    {"type": "task", "name": "first", "handler": "add", "config": {"amount": 2}},
    {"type": "condition", "name": "big", "expression": "total >= 2", "trueStep": "nap"},
    {"type": "task", "name": "small", "handler": "echo", "config": {"small": True}},
    {"type": "wait", "name": "nap", "durationMs": 150},
    {"type": "external_event", "name": "go", "signalType": "go"},
    {
        "type": "task",
        "name": "call",
        "handler": "fails_until",
        "config": {"failures": 1},
        "retry": {"maxAttempts": 3, "backoffMs": 100},
    },
    {"type": "task", "name": "last", "handler": "echo", "config": {"done": True}},
]


def run_mixed(client, auth) -> str:
    run_id = create_run_over_http(client, auth, MIXED)

    def at_go() -> bool:
        run = WorkflowRun.get_by_id(run_id)
        return run.status == statuses.WAITING and run.current_step_name == "go"

    wait_until(at_go)
    resumed = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume",
        headers=auth,
        json={"signalType": "go", "payload": {"approved": True}},
    )
    assert resumed.status_code == 200, resumed.json
    wait_for_run(run_id)
    return run_id


def test_every_command_delivered_twice_changes_nothing(
    client, auth, broker, worker, clock, monkeypatch, caplog
):
    # Given every step boundary handed to the broker, and a run of mixed steps done normally
    patch_settings(monkeypatch, inline_step_limit=1)
    once = run_mixed(client, auth)
    settle(broker, worker)

    # When every command is published twice (both copies through RabbitMQ)
    published: list[str] = []
    enqueue = broker.enqueue

    def enqueue_twice(message, *, delay=None):
        published.append(message.actor_name)
        enqueue(message, delay=delay)
        return enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", enqueue_twice)
    caplog.set_level(logging.INFO, logger="actors.driver")
    twice = run_mixed(client, auth)
    settle(broker, worker)

    # Then the run ends exactly as the one delivered once
    assert {"start_run", "execute_step"} <= set(published)
    assert any(twice in record.getMessage() for record in caplog.records), "no copy was fenced"
    first, second = WorkflowRun.get_by_id(once), WorkflowRun.get_by_id(twice)
    assert first.status == second.status == statuses.COMPLETED
    assert first.state == {"total": 2, "approved": True, "succeededAt": 2, "done": True}
    assert second.state == first.state
    assert steps_of(twice) == steps_of(once)
    assert steps_of(once) == [
        ("first", statuses.COMPLETED, 1),
        ("big", statuses.COMPLETED, 1),
        ("small", statuses.SKIPPED, 1),
        ("nap", statuses.COMPLETED, 1),
        ("go", statuses.COMPLETED, 1),
        ("call", statuses.COMPLETED, 2),
        ("last", statuses.COMPLETED, 1),
    ]
    assert event_types(twice) == event_types(once)
    assert max(completions_per_step_run(twice).values()) == 1
    assert second.version == len(events(twice)) and first.version == len(events(once))


# 5. A lost command is sent again by the clock.


def test_a_run_whose_start_command_was_lost_is_started_by_the_clock(
    client, auth, broker, monkeypatch, request
):
    # Given a run created while its start_run message is lost
    patch_settings(monkeypatch, redrive_after_ms=SHORT_REDRIVE_MS)
    steps = [{"type": "task", "name": "only", "handler": "echo", "config": {"ok": True}}]
    run_id = create_run_over_http(client, auth, steps)
    assert broker.get_queue_message_counts("runs")[0] == 1
    broker.flush("runs")

    # When a worker runs without the clock, nothing happens
    worker = request.getfixturevalue("worker")
    time.sleep(2 * SHORT_REDRIVE_MS / 1000)
    assert WorkflowRun.get_by_id(run_id).status == statuses.PENDING

    # Then with the clock the run is started and completes
    request.getfixturevalue("clock")
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED and done.state == {"ok": True}
    settle(broker, worker)
    assert event_types(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert_version_counts_events(run_id)


def test_a_lost_hand_off_is_sent_again_by_the_clock(client, auth, broker, monkeypatch, request):
    # Given every step handed to the broker, and a run whose first step ran here and whose
    # hand-off of the second step is lost
    patch_settings(monkeypatch, redrive_after_ms=SHORT_REDRIVE_MS, inline_step_limit=1)
    steps = [
        {"type": "task", "name": name, "handler": "add", "config": {"amount": amount}}
        for name, amount in (("one", 1), ("two", 10), ("three", 100))
    ]
    run_id = create_run_over_http(client, auth, steps)
    broker.flush("runs")
    start_run(run_id)
    assert broker.get_queue_message_counts("steps")[0] == 1
    broker.flush("steps")
    stuck = WorkflowRun.get_by_id(run_id)
    assert (stuck.status, stuck.current_step_name) == (statuses.RUNNING, "two")

    # When a worker runs without the clock, nothing happens
    worker = request.getfixturevalue("worker")
    time.sleep(2 * SHORT_REDRIVE_MS / 1000)
    assert WorkflowRun.get_by_id(run_id).version == stuck.version

    # Then with the clock the second step is sent again and the run completes
    request.getfixturevalue("clock")
    done = wait_for_run(run_id)
    settle(broker, worker)
    assert done.status == statuses.COMPLETED and done.state == {"total": 111}
    assert steps_of(run_id) == [(name, statuses.COMPLETED, 1) for name in ("one", "two", "three")]
    assert list(completions_per_step_run(run_id).values()) == [1, 1, 1]
    assert_version_counts_events(run_id)


# 6. A worker process is killed in the middle of a step.


@pytest.fixture
def worker_processes(tmp_path):
    """Starts `dramatiq actors` processes on the suite's database and vhost; kills them after."""
    started: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
    }

    def start() -> subprocess.Popen:
        process = spawn(worker_command(1, 2), env, tmp_path / f"worker{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        kill(process)


#: How the slow step is reached: in the inline chain of each actor's message.
FIRST_STEPS = {
    "start_run": {"type": "task", "name": "before", "handler": "echo", "config": {"before": True}},
    "execute_step": {"type": "external_event", "name": "before", "signalType": "go"},
    "deliver_signal": {"type": "external_event", "name": "before", "signalType": "go"},
}


@pytest.mark.parametrize("command", sorted(FIRST_STEPS))
def test_a_worker_killed_mid_step_is_replaced_and_the_step_completes_once(
    client, auth, workspace, worker_processes, clock, tmp_path, command
):
    # Given a worker process in the middle of a slow handler, steps past the one the message
    # it holds names (the inline chain)
    log = tmp_path / "calls"
    slow = {
        "type": "task",
        "name": "slow",
        "handler": "marker",
        "config": {"path": str(log), "seconds": 1.5},
    }
    first = worker_processes()
    run_id = create_run_over_http(client, auth, [FIRST_STEPS[command], slow])
    if command == "execute_step":
        wait_for_run(run_id, (statuses.WAITING,), timeout=20)
        resumed = client.simulate_post(
            f"/v1/workflow-runs/{run_id}/resume",
            headers=auth,
            json={"signalType": "go", "payload": {"before": True}},
        )
        assert resumed.status_code == 200, resumed.json
    elif command == "deliver_signal":
        wait_for_run(run_id, (statuses.WAITING,), timeout=20)
        deliver_signal.send(
            workspaceId=workspace[0].id,
            runId=run_id,
            signalType="go",
            payload={"before": True},
            signalId="go-1",
        )
    wait_until(lambda: marks(log, "start"), timeout=20)
    running = WorkflowRun.get_by_id(run_id)
    assert (running.status, running.current_step_name) == (statuses.RUNNING, "slow")

    # When it is killed outright, and a new worker starts
    kill(first)
    assert marks(log, "end") == []
    worker_processes()

    # Then once the dead worker's lease runs out (RabbitMQ's redelivery of its message comes
    # sooner, and is dropped while the lease holds), the clock sends the step again and the new
    # worker takes the run on where it is: the step runs again (at least once: the handler ran
    # twice) and is recorded once
    done = wait_for_run(run_id, timeout=20)
    assert done.status == statuses.COMPLETED
    assert done.state == {"before": True, "marked": 1}
    assert len(marks(log, "start")) == 2 and len(marks(log, "end")) == 1
    assert steps_of(run_id) == [("before", statuses.COMPLETED, 1), ("slow", statuses.COMPLETED, 1)]
    assert list(completions_per_step_run(run_id).values()) == [1, 1]
    assert_version_counts_events(run_id)
