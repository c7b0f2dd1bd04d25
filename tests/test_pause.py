"""Manual pause and unpause (SPEC section 8), through the real stack: HTTP, workers, the clock.

A pause holds a run where it is: a step already executing finishes and is recorded, no further
step starts, timers that fall due and signals that arrive are kept. Unpause takes the run back
to what it was doing. The races are real: steps held in their handler (`harness.handlers`'
gates) or before their attempt runs, pauses at random moments, unpauses as timers fall due.
"""

from __future__ import annotations

import datetime
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

import actors.driver
from harness.handlers import Gate, gate
from harness.invariants import assert_invariants
from models import statuses
from models.base import iso_utc, utcnow
from models.config import current
from models.pausing import pause_run
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.signals import Signal
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, take_commands, wait_until
from tests.support import create_run_over_http, wait_for_run
from tests.test_broker_signals import publish, settled, signal

MANUAL = statuses.MANUAL
PAUSABLE = (statuses.PENDING, statuses.RUNNING, statuses.WAITING)


def _post(client, auth, run_id: str, operation: str, **kwargs):
    return client.simulate_post(f"/v1/workflow-runs/{run_id}/{operation}", headers=auth, **kwargs)


def pause(client, auth, run_id: str) -> dict:
    result = _post(client, auth, run_id, "pause")
    assert result.status_code == 200, result.text
    return result.json["data"]


def unpause(client, auth, run_id: str) -> dict:
    result = _post(client, auth, run_id, "unpause")
    assert result.status_code == 200, result.text
    return result.json["data"]


def event_types(run_id: str) -> list[str]:
    return [event.event_type for event in events_of(run_id)]


def last_event(run_id: str) -> RunEvent:
    return events_of(run_id)[-1]


def steps_of(run_id: str) -> list[tuple[str, str, int]]:
    rows = StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id)
    return [(s.step_name, s.status, s.attempt) for s in rows]


def unchanged(run: WorkflowRun) -> None:
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.status, stored.version) == (run.status, run.version)


def settle(broker, worker) -> None:
    """Wait until the queues are empty and the worker has finished what it took."""
    for queue in ("runs", "steps", "signals"):
        broker.join(queue, min_successes=3, idle_time=50, timeout=10_000)
    worker.join()


def gated(name: str, door: str, step: dict | None = None, **config) -> dict:
    """A task step that waits in its handler at the gate `door` (see `harness.handlers`)."""
    return {
        "type": "task",
        "name": name,
        "handler": "gated",
        "config": {"gate": door, **config},
        **(step or {}),
    }


def a_gate() -> tuple[str, Gate]:
    name = str(uuid.uuid4())
    return name, gate(name)


@pytest.fixture
def held_attempts(monkeypatch) -> dict[str, Gate]:
    """Gates by step name: the first attempt of a step named there waits at its gate before
    it runs (any step type, not only tasks)."""
    gates: dict[str, Gate] = {}
    run_attempt = actors.driver.run_attempt

    def held(step: dict, ctx):
        door = gates.get(step["name"])
        if door is not None and not door.entered.is_set():
            door.entered.set()
            assert door.opened.wait(30), "the test never opened the gate"
        return run_attempt(step, ctx)

    monkeypatch.setattr(actors.driver, "run_attempt", held)
    return gates


# The answers, without a worker: what a pause keeps and what an unpause sends.


@pytest.mark.parametrize("status", PAUSABLE)
def test_a_pause_holds_a_live_run_and_unpause_puts_it_back(client, auth, workspace, broker, status):
    # Given a run PENDING, RUNNING or WAITING
    run = run_states.in_status(workspace[0], status)
    step_run_id = WorkflowRun.get_by_id(run.id).current_step_run_id

    # When it is paused
    data = pause(client, auth, run.id)

    # Then it is PAUSED for a user, with no timer, and says where it came from
    assert (data["status"], data["pausedReason"], data["nextRunAt"]) == ("PAUSED", MANUAL, None)
    assert data["definition"] == {"name": "flow", "version": run.definition.version}
    assert data["version"] == run.version + 1
    event = last_event(run.id)
    assert (event.event_type, event.payload) == (
        "WORKFLOW_PAUSED",
        {"reason": MANUAL, "previousStatus": status},
    )
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.paused_from, stored.next_run_at) == (status, None)
    assert_invariants([run.id])

    # When it is unpaused (an empty body is no body)
    result = _post(client, auth, run.id, "unpause", json={})
    assert result.status_code == 200, result.text
    data = result.json["data"]

    # Then it is back where it was, with a timer in case the command it was sent is lost
    assert (data["status"], data["pausedReason"]) == (status, None)
    assert TIMESTAMP.match(data["nextRunAt"])
    event = last_event(run.id)
    assert (event.event_type, event.payload) == ("WORKFLOW_UNPAUSED", {"status": status})
    if status == statuses.PENDING:
        assert take_commands(broker, "runs") == [("start_run", [run.id])]
    else:
        assert take_commands(broker, "steps") == [("execute_step", [run.id, step_run_id, 0, 1])]
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.paused_reason, stored.paused_from, stored.paused_due_at) == (None, None, None)
    assert_invariants([run.id])


@pytest.mark.parametrize(
    "status", [statuses.COMPLETED, statuses.FAILED, statuses.CANCELLED, statuses.PAUSED]
)
def test_a_pause_from_any_other_status_is_409(client, auth, workspace, status):
    run = run_states.in_status(workspace[0], status)  # PAUSED: at an approval
    error = assert_error(_post(client, auth, run.id, "pause"), 409, "CONFLICT")
    assert status in error["message"]
    unchanged(run)
    assert_invariants([run.id])


@pytest.mark.parametrize("status", statuses.RUN_STATUSES)
def test_unpause_is_409_for_a_run_not_paused_manually(client, auth, workspace, status):
    run = run_states.in_status(workspace[0], status)  # PAUSED: at an approval
    error = assert_error(_post(client, auth, run.id, "unpause"), 409, "CONFLICT")
    assert status in error["message"]
    if status == statuses.PAUSED:
        assert "approval" in error["message"]
        assert WorkflowRun.get_by_id(run.id).paused_reason == statuses.APPROVAL
    unchanged(run)


def test_a_run_paused_manually_cannot_be_paused_again_resumed_or_retried(client, auth, workspace):
    run, _ = run_states.waiting(workspace[0])
    pause(client, auth, run.id)
    paused = WorkflowRun.get_by_id(run.id)
    assert_error(_post(client, auth, run.id, "pause"), 409, "CONFLICT")
    resume = {"signalType": "payment.received"}
    assert_error(_post(client, auth, run.id, "resume", json=resume), 409, "CONFLICT")
    assert_error(_post(client, auth, run.id, "retry"), 409, "CONFLICT")
    unchanged(paused)
    assert Signal.select().count() == 0

    # And cancel ends the pause
    cancelled = _post(client, auth, run.id, "cancel").json["data"]
    assert (cancelled["status"], cancelled["pausedReason"]) == ("CANCELLED", None)
    assert last_event(run.id).payload == {"previousStatus": "PAUSED"}
    assert_invariants([run.id], expect=lambda _: {statuses.CANCELLED})


@pytest.mark.parametrize("operation", ["pause", "unpause"])
def test_pause_and_unpause_refuse_bad_input(client, auth, workspace, other_workspace, operation):
    steps = [run_states.TASK]
    run = WorkflowRun.get_by_id(create_run_over_http(client, auth, steps))
    their_auth = {"x-api-key": other_workspace[1]}
    theirs = WorkflowRun.get_by_id(create_run_over_http(client, their_auth, steps))
    if operation == "unpause":
        pause_run(run.id)
        pause_run(theirs.id)
    run, theirs = WorkflowRun.get_by_id(run.id), WorkflowRun.get_by_id(theirs.id)

    # A body with fields: this call takes none
    error = assert_error(
        _post(client, auth, run.id, operation, json={"reason": "lunch"}),
        400,
        "VALIDATION_ERROR",
        "reason",
    )
    assert "no body fields" in error["message"]
    assert_error(_post(client, auth, run.id, operation, json=[1]), 400, "VALIDATION_ERROR")
    # Another workspace's run, an unknown one, ids that are not run ids
    for run_id in (theirs.id, f"wfrun_{'0' * 26}", "wfrun_nope", f"wfdef_{'0' * 26}"):
        assert_error(_post(client, auth, run_id, operation), 404, "NOT_FOUND")
    unchanged(run)
    unchanged(theirs)
    assert_invariants([run.id, theirs.id])


# A step already executing finishes and is recorded.


def test_a_step_that_completes_while_its_run_is_paused_is_recorded_and_the_next_waits(
    client, auth, broker, worker
):
    # Given a run whose first step is in its handler
    door, held = a_gate()
    run_id = create_run_over_http(
        client,
        auth,
        [
            gated("first", door, result={"first": 1}),
            {"type": "task", "name": "second", "handler": "echo", "config": {"second": 2}},
        ],
    )
    assert held.entered.wait(10)

    # When the run is paused, for longer than a lease lasts, then the step completes
    data = pause(client, auth, run_id)
    assert (data["status"], data["pausedReason"]) == ("PAUSED", MANUAL)
    time.sleep(current().lease_ms / 1000 + 0.5)
    run = WorkflowRun.get_by_id(run_id)
    assert steps_of(run_id) == [("first", "RUNNING", 1)], "the step ended before the pause"
    assert run.leased_until > utcnow(), "the worker's heartbeat kept its lease"
    assert run.next_run_at is None
    held.opened.set()
    wait_until(lambda: steps_of(run_id)[0][1] == statuses.COMPLETED)
    settle(broker, worker)

    # Then the step is recorded, its result merged, and the run waits before the next step
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.paused_reason, run.state) == ("PAUSED", MANUAL, {"first": 1})
    assert (run.current_step_name, run.current_step_run_id) == ("second", None)
    assert (run.next_run_at, run.leased_until) == (None, None)
    assert steps_of(run_id) == [("first", "COMPLETED", 1)]
    assert event_types(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "WORKFLOW_PAUSED",
        "STEP_COMPLETED",
    ]
    assert_invariants([run_id])
    shown = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    assert (shown["status"], shown["pausedReason"], shown["nextRunAt"]) == ("PAUSED", MANUAL, None)
    assert (shown["currentStepName"], shown["state"]) == ("second", {"first": 1})

    # When it is unpaused, it starts the next step and completes
    data = unpause(client, auth, run_id)
    assert (data["status"], data["currentStepName"]) == ("RUNNING", "second")
    done = wait_for_run(run_id)
    assert (done.status, done.state) == (statuses.COMPLETED, {"first": 1, "second": 2})
    assert event_types(run_id)[4:] == [
        "WORKFLOW_UNPAUSED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_a_pause_and_unpause_while_a_step_runs_leave_the_step_to_its_worker(
    client, auth, broker, worker
):
    # Given a run paused and unpaused while its first step is in its handler
    door, held = a_gate()
    run_id = create_run_over_http(
        client,
        auth,
        [
            gated("first", door, result={"first": 1}),
            {"type": "task", "name": "second", "handler": "echo", "config": {"second": 2}},
        ],
    )
    assert held.entered.wait(10)
    pause(client, auth, run_id)
    data = unpause(client, auth, run_id)
    assert (data["status"], data["currentStepName"]) == ("RUNNING", "first")

    # When the command the unpause sent is taken while the step still runs
    broker.join("steps", min_successes=3, idle_time=50, timeout=10_000)

    # Then nobody else runs the attempt: its worker records it, and the run goes on
    assert held.calls == 1
    held.opened.set()
    done = wait_for_run(run_id)
    assert (done.status, done.state) == (statuses.COMPLETED, {"first": 1, "second": 2})
    assert held.calls == 1
    assert event_types(run_id)[:5] == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "WORKFLOW_PAUSED",
        "WORKFLOW_UNPAUSED",
        "STEP_COMPLETED",
    ]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_the_last_step_completing_while_paused_leaves_the_run_paused_until_unpause(
    client, auth, broker, worker
):
    # Given a run of one step, paused while the step is in its handler
    door, held = a_gate()
    run_id = create_run_over_http(client, auth, [gated("only", door, result={"done": True})])
    assert held.entered.wait(10)
    pause(client, auth, run_id)

    # When the step completes
    held.opened.set()
    wait_until(lambda: steps_of(run_id) == [("only", statuses.COMPLETED, 1)])
    settle(broker, worker)

    # Then the run is still PAUSED, at no step, its state final but no output yet
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.state, run.output) == ("PAUSED", {"done": True}, None)
    assert (run.current_step_index, run.current_step_name, run.next_run_at) == (None, None, None)
    assert run.completed_at is None
    assert_invariants([run_id])

    # When it is unpaused, it completes at once: nothing is left to run
    data = unpause(client, auth, run_id)
    assert (data["status"], data["output"], data["nextRunAt"]) == (
        "COMPLETED",
        {"done": True},
        None,
    )
    assert TIMESTAMP.match(data["completedAt"]) and data["pausedReason"] is None
    assert event_types(run_id)[-4:] == [
        "WORKFLOW_PAUSED",
        "STEP_COMPLETED",
        "WORKFLOW_UNPAUSED",
        "WORKFLOW_COMPLETED",
    ]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_a_step_that_fails_while_paused_keeps_its_retry_timer_aside(
    client, auth, broker, worker, clock
):
    # Given a run whose step fails once, paused while its first attempt is in the handler
    door, held = a_gate()
    retry = {"retry": {"maxAttempts": 2, "backoffMs": 300}}
    run_id = create_run_over_http(
        client, auth, [gated("charge", door, retry, failures=1, result={"charged": True})]
    )
    assert held.entered.wait(10)
    pause(client, auth, run_id)

    # When the attempt fails
    held.opened.set()
    wait_until(lambda: steps_of(run_id) == [("charge", statuses.FAILED, 1)])
    settle(broker, worker)

    # Then the failure and its retry are recorded, the retry's time kept aside, no timer set
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.paused_reason, run.next_run_at) == ("PAUSED", MANUAL, None)
    retrying = last_event(run_id)
    assert retrying.event_type == "STEP_RETRYING"
    assert iso_utc(run.paused_due_at) == retrying.payload["retryAt"]
    assert event_types(run_id)[-3:] == ["WORKFLOW_PAUSED", "STEP_FAILED", "STEP_RETRYING"]
    assert_invariants([run_id])

    # And the retry falls due while the run is paused: the clock does not run it
    wait_until(lambda: utcnow() > run.paused_due_at + datetime.timedelta(milliseconds=300))
    assert steps_of(run_id) == [("charge", statuses.FAILED, 1)]
    assert WorkflowRun.get_by_id(run_id).version == run.version

    # When it is unpaused, the retry that is due runs at once, and the run completes
    data = unpause(client, auth, run_id)
    assert data["status"] == "RUNNING"
    done = wait_for_run(run_id, timeout=5)
    assert (done.status, done.state) == (statuses.COMPLETED, {"charged": True})
    assert steps_of(run_id) == [("charge", statuses.COMPLETED, 2)]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_a_step_that_fails_for_good_while_paused_fails_the_run(client, auth, broker, worker):
    door, held = a_gate()
    run_id = create_run_over_http(client, auth, [gated("charge", door, failures=1, refuse=True)])
    assert held.entered.wait(10)
    pause(client, auth, run_id)

    held.opened.set()
    failed = wait_for_run(run_id, (statuses.FAILED,))
    settle(broker, worker)

    # A failure for good is not going on: the run fails at once, the pause over
    assert (failed.paused_reason, failed.next_run_at, failed.error["code"]) == (
        None,
        None,
        "TASK_FAILED",
    )
    assert event_types(run_id)[-3:] == ["WORKFLOW_PAUSED", "STEP_FAILED", "WORKFLOW_FAILED"]
    assert_error(_post(client, auth, run_id, "unpause"), 409, "CONFLICT")
    assert_invariants([run_id], expect=lambda _: {statuses.FAILED})


def test_a_jump_taken_while_paused_skips_its_steps_and_holds_before_its_target(
    client, auth, broker, worker, held_attempts
):
    # Given a condition that jumps over a step, held before it runs
    held_attempts["route"] = held = Gate()
    steps = [
        {"type": "condition", "name": "route", "expression": "input.go", "trueStep": "end"},
        {"type": "task", "name": "skipped", "handler": "echo", "config": {"skipped": True}},
        {"type": "task", "name": "end", "handler": "echo", "config": {"end": True}},
    ]
    run_id = create_run_over_http(client, auth, steps, input={"go": True})
    assert held.entered.wait(10)

    # When the run is paused, then the condition runs
    pause(client, auth, run_id)
    held.opened.set()
    wait_until(lambda: len(steps_of(run_id)) == 2)
    settle(broker, worker)

    # Then the jump is recorded, and the run waits before its target
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.current_step_name, run.next_run_at) == ("PAUSED", "end", None)
    assert steps_of(run_id) == [("route", "COMPLETED", 1), ("skipped", "SKIPPED", 1)]
    assert_invariants([run_id])

    unpause(client, auth, run_id)
    done = wait_for_run(run_id)
    assert (done.status, done.state) == (statuses.COMPLETED, {"end": True})
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_a_wait_or_an_approval_reached_while_paused_records_nothing_until_unpause(
    client, auth, broker, worker, held_attempts
):
    # Given a wait and an approval step, each held before its first attempt runs
    held_attempts["nap"] = nap = Gate()
    held_attempts["review"] = review = Gate()
    steps = [
        {"type": "wait", "name": "nap", "durationMs": 60_000, "signalType": "wake"},
        {"type": "approval", "name": "review", "contentKey": "draft"},
        {"type": "task", "name": "send", "handler": "echo", "config": {"sent": True}},
    ]
    run_id = create_run_over_http(client, auth, steps, input={})
    for held, step, then in ((nap, "nap", statuses.WAITING), (review, "review", "PAUSED")):
        assert held.entered.wait(10)

        # When the run is paused and the step then comes to its wait
        pause(client, auth, run_id)
        held.opened.set()
        settle(broker, worker)

        # Then nothing is recorded: the attempt stays RUNNING, its lease let go, no timer
        run = WorkflowRun.get_by_id(run_id)
        assert (run.status, run.current_step_name) == ("PAUSED", step)
        assert (run.next_run_at, run.leased_until) == (None, None)
        assert steps_of(run_id)[-1] == (step, statuses.RUNNING, 1)
        assert event_types(run_id)[-1] == "WORKFLOW_PAUSED"
        assert_invariants([run_id])

        # When it is unpaused, the attempt runs again and the step waits
        unpause(client, auth, run_id)
        wait_until(lambda then=then: WorkflowRun.get_by_id(run_id).status == then)
        settle(broker, worker)
        assert steps_of(run_id)[-1] == (step, statuses.WAITING, 1)
        if step == "nap":
            assert_invariants([run_id])
            wake = {"signalType": "wake", "payload": {"draft": "hello"}}
            resumed = _post(client, auth, run_id, "resume", json=wake)
            assert resumed.status_code == 200, resumed.text

    # The run waits on its approval now: that pause is not a user's to unpause
    run = WorkflowRun.get_by_id(run_id)
    assert run.paused_reason == statuses.APPROVAL
    error = assert_error(_post(client, auth, run_id, "unpause"), 409, "CONFLICT")
    assert "approval" in error["message"]
    [request] = client.simulate_get("/v1/approval-requests", headers=auth).json["data"]
    path = f"/v1/approval-requests/{request['id']}/decide"
    decided = client.simulate_post(path, json={"decision": "approved"}, headers=auth)
    assert decided.status_code == 200, decided.text
    assert wait_for_run(run_id).status == statuses.COMPLETED
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


# Timers that fall due and signals that arrive are kept.


def test_a_wait_whose_timer_fell_due_while_paused_goes_on_at_once_on_unpause(
    client, auth, broker, worker
):
    # Given a run waiting 300 ms, paused (no clock runs: only the unpause can wake it)
    steps = [
        {"type": "wait", "name": "nap", "durationMs": 300},
        {"type": "task", "name": "after", "handler": "echo", "config": {"woke": True}},
    ]
    run_id = create_run_over_http(client, auth, steps)
    waiting = wait_for_run(run_id, (statuses.WAITING,))
    pause(client, auth, run_id)
    paused = WorkflowRun.get_by_id(run_id)
    assert paused.paused_due_at == waiting.next_run_at and paused.next_run_at is None

    # When its timer falls due while it is paused
    wait_until(lambda: utcnow() > waiting.next_run_at + datetime.timedelta(milliseconds=100))
    assert WorkflowRun.get_by_id(run_id).version == paused.version
    assert_invariants([run_id])

    # Then unpause goes back to WAITING, and the due wait ends at once
    data = unpause(client, auth, run_id)
    assert data["status"] == "WAITING"
    done = wait_for_run(run_id, timeout=3)
    assert (done.status, done.state) == (statuses.COMPLETED, {"woke": True})
    assert event_types(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "WORKFLOW_WAITING",
        "WORKFLOW_PAUSED",
        "WORKFLOW_UNPAUSED",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_a_wait_not_due_yet_waits_on_after_unpause(client, auth, broker, worker, clock):
    steps = [
        {"type": "wait", "name": "nap", "durationMs": 1500},
        {"type": "task", "name": "after", "handler": "echo", "config": {"woke": True}},
    ]
    run_id = create_run_over_http(client, auth, steps)
    waiting = wait_for_run(run_id, (statuses.WAITING,))
    pause(client, auth, run_id)
    unpause(client, auth, run_id)
    settle(broker, worker)

    # The step looked, and set its timer back to its due time
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.next_run_at) == (statuses.WAITING, waiting.next_run_at)
    done = wait_for_run(run_id, timeout=5)
    assert done.completed_at >= waiting.next_run_at
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


def test_unpauses_and_pauses_racing_wait_timers_fire_each_once(client, auth, worker, clock):
    # Given runs that wait 800 ms, each paused then unpaused around its due time
    steps = [
        {"type": "wait", "name": "nap", "durationMs": 800},
        {"type": "task", "name": "after", "handler": "count"},
    ]
    offsets_ms = [-60, -30, -10, 0, 10, 30, 60, 100]
    run_ids = [create_run_over_http(client, auth, steps) for _ in offsets_ms]
    due = {run_id: wait_for_run(run_id, (statuses.WAITING,)).next_run_at for run_id in run_ids}

    def around_due(run_id: str, offset_ms: int) -> None:
        pause_at = due[run_id] - datetime.timedelta(milliseconds=120)
        time.sleep(max(0.0, (pause_at - utcnow()).total_seconds()))
        if _post(client, auth, run_id, "pause").status_code != 200:
            return  # the timer fired first
        unpause_at = due[run_id] + datetime.timedelta(milliseconds=offset_ms)
        time.sleep(max(0.0, (unpause_at - utcnow()).total_seconds()))
        unpause(client, auth, run_id)

    with ThreadPoolExecutor(len(run_ids)) as pool:
        list(pool.map(around_due, run_ids, offsets_ms))

    # Then every wait ends once, and every run completes
    for run_id in run_ids:
        done = wait_for_run(run_id, timeout=5)
        assert (done.status, done.state) == (statuses.COMPLETED, {"n": 1})
        assert event_types(run_id).count("STEP_COMPLETED") == 2
    assert_invariants(run_ids, expect=lambda _: {statuses.COMPLETED})


def test_a_broker_signal_that_arrives_while_paused_is_consumed_on_unpause(
    client, auth, broker, worker
):
    # Given a run waiting for a signal, paused
    steps = [
        {"type": "external_event", "name": "payment", "signalType": "payment.received"},
        {"type": "task", "name": "ship", "handler": "echo", "config": {"shipped": True}},
    ]
    run_id = create_run_over_http(client, auth, steps)
    wait_for_run(run_id, (statuses.WAITING,))
    pause(client, auth, run_id)
    paused = WorkflowRun.get_by_id(run_id)

    # When the signal is published straight to RabbitMQ
    publish(signal(run_id, "payment.received", {"amount": 42}, "pay-1"))
    wait_until(lambda: Signal.select().where(Signal.run == run_id).count() == 1)
    wait_until(settled)
    settle(broker, worker)

    # Then it is kept, unconsumed, and the run stays paused
    [kept] = Signal.select().where(Signal.run == run_id)
    assert kept.consumed_at is None and kept.payload == {"amount": 42}
    unchanged(paused)
    assert steps_of(run_id) == [("payment", statuses.WAITING, 1)]

    # When the run is unpaused, the step takes the signal at once
    assert unpause(client, auth, run_id)["status"] == "WAITING"
    done = wait_for_run(run_id, timeout=3)
    assert (done.status, done.state) == (statuses.COMPLETED, {"amount": 42, "shipped": True})
    assert Signal.get_by_id(kept.id).consumed_at is not None
    assert event_types(run_id).count("SIGNAL_RECEIVED") == 1
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


# A PENDING run, and pauses at any moment.


def test_a_pending_run_paused_does_not_start_until_unpaused(client, auth, broker, request):
    # Given a run created while no worker runs, paused before it started
    run_id = create_run_over_http(client, auth, [{"type": "task", "name": "t", "handler": "add"}])
    data = pause(client, auth, run_id)
    assert (data["status"], data["startedAt"]) == ("PAUSED", None)

    # When a worker takes its start command
    worker = request.getfixturevalue("worker")
    settle(broker, worker)

    # Then the command is dropped: the run is still PAUSED, never started
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.started_at, run.next_run_at) == ("PAUSED", None, None)
    assert event_types(run_id) == ["WORKFLOW_PAUSED"]
    assert_invariants([run_id])

    # When it is unpaused, it is PENDING again and starts
    assert unpause(client, auth, run_id)["status"] == "PENDING"
    done = wait_for_run(run_id)
    assert (done.status, done.state) == (statuses.COMPLETED, {"total": 1})
    assert event_types(run_id)[:3] == ["WORKFLOW_PAUSED", "WORKFLOW_UNPAUSED", "WORKFLOW_STARTED"]
    assert_invariants([run_id], expect=lambda _: {statuses.COMPLETED})


#: Steps in flight (sleepy), a retry, a jump over a step, a wait: somewhere to pause each time.
EVERY_MOMENT = [
    {"type": "task", "name": "a", "handler": "add"},
    {"type": "task", "name": "b", "handler": "sleepy", "config": {"seconds": 0.05}},
    {
        "type": "task",
        "name": "c",
        "handler": "fails_until",
        "config": {"failures": 1},
        "retry": {"maxAttempts": 2, "backoffMs": 100},
    },
    {"type": "condition", "name": "d", "expression": "state.total >= 1", "trueStep": "f"},
    {"type": "task", "name": "e", "handler": "add", "config": {"amount": 100}},
    {"type": "task", "name": "f", "handler": "sleepy", "config": {"seconds": 0.05}},
    {"type": "wait", "name": "g", "durationMs": 150},
    {"type": "task", "name": "h", "handler": "add"},
]


def test_pauses_and_unpauses_at_random_moments_lose_and_double_nothing(client, auth, worker, clock):
    # Given runs paused and unpaused at random moments, some several times
    rng = random.Random(8)
    plans = [[rng.uniform(0, 0.5) for _ in range(rng.choice((2, 4)))] for _ in range(16)]
    outcomes: dict[str, list[int]] = {}
    lock = threading.Lock()

    def operate(plan: list[float]) -> None:
        run_id = create_run_over_http(client, auth, EVERY_MOMENT)
        answers = []
        for number, delay in enumerate(plan):
            time.sleep(delay)
            operation = "pause" if number % 2 == 0 else "unpause"
            answers.append(_post(client, auth, run_id, operation).status_code)
            if answers[-1] == 409:
                break  # it completed first
        if answers[-1] == 200 and len(answers) % 2 == 1:
            answers.append(_post(client, auth, run_id, "unpause").status_code)
        with lock:
            outcomes[run_id] = answers

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(operate, plans))

    # Then every run completes with every step's result once, and breaks no rule
    for run_id, answers in outcomes.items():
        assert set(answers) <= {200, 409}, answers
        assert all(answer == 200 for answer in answers[1::2]), answers  # every unpause
        done = wait_for_run(run_id, timeout=15)
        assert done.status == statuses.COMPLETED, (run_id, answers)
        assert done.state == {"total": 2, "slept": 0.05, "succeededAt": 2}, (run_id, answers)
    paused = sum(1 for answers in outcomes.values() if answers[0] == 200)
    assert paused >= len(outcomes) // 2, f"only {paused} runs were paused: no race tested"
    assert_invariants(
        list(outcomes),
        expect=lambda _: {statuses.COMPLETED},
        overdue_after=datetime.timedelta(seconds=1),
    )
