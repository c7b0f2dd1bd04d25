"""Workers executing task steps on the real broker: outcomes, fences, duplicates, hand-offs."""

from __future__ import annotations

import pytest

import actors
from models import statuses
from models.runs import StepRun, WorkflowRun, events_of
from models.transitions import RunChange
from tests.support import (
    change_settings,
    create_run_over_http,
    insert_definition,
    insert_run,
    wait_for_run,
)

ADD_THREE = [
    {"type": "task", "name": "first", "handler": "add", "config": {"amount": 1}},
    {"type": "task", "name": "second", "handler": "add", "config": {"amount": 10}},
    {"type": "task", "name": "third", "handler": "echo", "config": {"done": True}},
]


def step_runs_of(run_id: str) -> list[StepRun]:
    return list(StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id))


def test_a_run_of_task_steps_completes_through_http(client, auth, worker):
    run_id = create_run_over_http(client, auth, ADD_THREE, {"start": 5})

    stored = wait_for_run(run_id)

    assert stored.status == statuses.COMPLETED
    assert stored.state == {"total": 16, "done": True}
    assert stored.output == stored.state
    steps = step_runs_of(run_id)
    assert [(s.step_name, s.status, s.attempt) for s in steps] == [
        ("first", "COMPLETED", 1),
        ("second", "COMPLETED", 1),
        ("third", "COMPLETED", 1),
    ]
    # State is merged step by step: each step's output is only its own contribution.
    assert [s.output for s in steps] == [{"total": 6}, {"total": 16}, {"done": True}]
    events = [e.event_type for e in events_of(run_id)]
    assert events == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert stored.version == len(events)

    body = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    assert body["status"] == "COMPLETED"
    assert body["output"] == {"total": 16, "done": True}
    assert [s["stepName"] for s in body["stepRuns"]] == ["first", "second", "third"]
    assert body["completedAt"].endswith("Z")


def test_handler_sees_its_context_and_idempotency_key(workspace, worker):
    definition = insert_definition(
        workspace[0], [{"type": "task", "name": "charge", "handler": "record_attempt"}]
    )
    run = insert_run(definition, {"amount": 3})
    actors.start_run.send(run.id)

    stored = wait_for_run(run.id)

    assert stored.status == statuses.COMPLETED
    (step_run,) = StepRun.select().where(StepRun.run == run.id)
    assert stored.state == {"charge_key": step_run.id, "attempt": 1}


@pytest.mark.parametrize(
    ("handler", "code", "retryable"),
    [
        ("boom", "TASK_FAILED", True),
        ("refuse", "TASK_FAILED", False),
        ("not_a_dict", "TASK_INVALID_RESULT", False),
        ("never_registered", "HANDLER_NOT_FOUND", False),
    ],
)
def test_a_failing_task_fails_the_run_with_its_error(workspace, worker, handler, code, retryable):
    definition = insert_definition(
        workspace[0],
        [
            {"type": "task", "name": "ok", "handler": "echo", "config": {"kept": 1}},
            {"type": "task", "name": "bad", "handler": handler, "retry": {"maxAttempts": 1}},
            {"type": "task", "name": "never", "handler": "noop"},
        ],
    )
    run = insert_run(definition)
    actors.start_run.send(run.id)

    stored = wait_for_run(run.id)

    assert stored.status == statuses.FAILED
    assert stored.error["code"] == code
    assert stored.failed_at is not None and stored.completed_at is None
    assert stored.state == {"kept": 1}
    assert [(s.step_name, s.status) for s in step_runs_of(run.id)] == [
        ("ok", "COMPLETED"),
        ("bad", "FAILED"),
    ]
    assert [e.event_type for e in events_of(run.id)][-2:] == ["STEP_FAILED", "WORKFLOW_FAILED"]


def test_repeated_and_stale_commands_change_nothing(workspace, broker, worker):
    definition = insert_definition(workspace[0], ADD_THREE)
    run = insert_run(definition)
    actors.start_run.send(run.id)
    done = wait_for_run(run.id)
    first_steps = step_runs_of(run.id)

    # Every command the run ever needed, delivered again after it completed.
    actors.start_run.send(run.id)
    for step_run in first_steps:
        actors.execute_step.send(run.id, step_run.id, step_run.step_index, step_run.attempt)
    broker.join("runs")
    broker.join("steps")
    worker.join()

    again = WorkflowRun.get_by_id(run.id)
    assert (again.status, again.version, again.state) == (done.status, done.version, done.state)
    assert len(step_runs_of(run.id)) == 3
    assert len(events_of(run.id)) == done.version


def test_a_command_for_another_attempt_is_dropped(workspace, broker, worker):
    definition = insert_definition(workspace[0], ADD_THREE)
    run = insert_run(definition)
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, "first", "task")
    change.commit()

    actors.execute_step.send(run.id, step_run.id, 0, 2)  # attempt 2 never started
    broker.join("steps")
    worker.join()
    assert WorkflowRun.get_by_id(run.id).version == 2
    assert StepRun.get_by_id(step_run.id).status == statuses.RUNNING

    actors.execute_step.send(run.id, step_run.id, 0, 1)
    assert wait_for_run(run.id).status == statuses.COMPLETED


def test_the_same_command_delivered_many_times_at_once_completes_each_step_once(
    workspace, broker, worker
):
    definition = insert_definition(workspace[0], ADD_THREE)
    run = insert_run(definition, {"start": 0})
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, "first", "task")
    change.commit()

    for _ in range(8):
        actors.execute_step.send(run.id, step_run.id, 0, 1)
    stored = wait_for_run(run.id)
    broker.join("steps")
    worker.join()

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.status == statuses.COMPLETED
    assert stored.state == {"total": 11, "done": True}
    completed = [e for e in events_of(run.id) if e.event_type == "STEP_COMPLETED"]
    assert len(completed) == 3
    assert len({e.step_run_id for e in completed}) == 3
    assert stored.version == len(events_of(run.id))


def test_a_long_chain_is_handed_to_the_broker_in_slices(workspace, worker, monkeypatch):
    change_settings(monkeypatch, inline_step_limit=2)
    hand_offs = []
    real_send = actors.execute_step.send

    def counting_send(*args):
        hand_offs.append(args)
        return real_send(*args)

    monkeypatch.setattr(actors.execute_step, "send", counting_send)
    steps = [
        {"type": "task", "name": f"s{i}", "handler": "add", "config": {"amount": 1}}
        for i in range(7)
    ]
    run = insert_run(insert_definition(workspace[0], steps))
    actors.start_run.send(run.id)

    stored = wait_for_run(run.id)

    assert stored.status == statuses.COMPLETED
    assert stored.state == {"total": 7}
    # 7 steps, 2 per actor call: start_run runs 2, then three execute_step commands.
    assert [args[2] for args in hand_offs] == [2, 4, 6]
