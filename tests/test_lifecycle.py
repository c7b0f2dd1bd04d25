"""Every step type and run operation through HTTP, with a real worker and the clock."""

from __future__ import annotations

import re
import time

import pytest

from actors import recording
from actors.steps.fields import MAX_DURATION_MS
from models import statuses
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.signals import Signal
from tests.support import create_run_over_http, wait_for_run


def events(run_id):
    return [e.event_type for e in events_of(run_id)]


def steps_of(run_id):
    return [
        (s.step_name, s.status, s.attempt)
        for s in StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id)
    ]


def test_a_wait_step_waits_without_a_worker_and_the_clock_wakes_it(client, auth, worker, clock):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "before", "handler": "echo", "config": {"a": 1}},
            {"type": "wait", "name": "pause", "durationMs": 300},
            {"type": "task", "name": "after", "handler": "echo", "config": {"b": 2}},
        ],
    )
    waiting = wait_for_run(run_id, (statuses.WAITING,))
    assert waiting.next_run_at is not None and waiting.current_step_name == "pause"

    done = wait_for_run(run_id)

    assert done.status == statuses.COMPLETED
    assert done.state == {"a": 1, "b": 2}
    elapsed = (done.completed_at - waiting.started_at).total_seconds()
    assert elapsed >= 0.3
    assert events(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "WORKFLOW_WAITING",
        "STEP_COMPLETED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert done.version == len(events(run_id))


def test_a_wait_until_a_past_moment_goes_on_at_once(client, auth, worker):
    run_id = create_run_over_http(
        client,
        auth,
        [{"type": "wait", "name": "past", "untilTimestamp": "2020-01-01T00:00:00Z"}],
    )
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    assert "WORKFLOW_WAITING" not in events(run_id)


def test_the_longest_durations_a_definition_may_name_are_timers_a_worker_can_set(
    client, auth, worker
):
    # Given a task with the longest timeout and retry backoff, then the longest wait
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "work",
                "handler": "noop",
                "timeoutMs": MAX_DURATION_MS,
                "retry": {"backoffMs": MAX_DURATION_MS},
            },
            {"type": "wait", "name": "century", "durationMs": MAX_DURATION_MS},
        ],
    )

    # Then the run waits a century, its timer set (no overflow in the worker)
    run = wait_for_run(run_id, wanted=(statuses.WAITING,))
    assert run.next_run_at.year >= run.created_at.year + 99
    assert steps_of(run_id) == [("work", "COMPLETED", 1), ("century", "WAITING", 1)]


def test_a_condition_jumps_and_skips_and_loops_are_bounded(client, auth, worker):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "inc", "handler": "count"},
            {"type": "condition", "name": "again", "expression": "n < 3", "trueStep": "inc"},
            {
                "type": "condition",
                "name": "big",
                "expression": "input.amount > 100",
                "trueStep": "review",
            },
            {"type": "task", "name": "small", "handler": "echo", "config": {"path": "small"}},
            {"type": "task", "name": "review", "handler": "echo", "config": {"path": "review"}},
        ],
        input={"amount": 250},
    )
    done = wait_for_run(run_id)

    assert done.status == statuses.COMPLETED
    assert done.state == {"n": 3, "path": "review"}
    assert steps_of(run_id) == [
        ("inc", "COMPLETED", 1),
        ("again", "COMPLETED", 1),
        ("inc", "COMPLETED", 1),
        ("again", "COMPLETED", 1),
        ("inc", "COMPLETED", 1),
        ("again", "COMPLETED", 1),
        ("big", "COMPLETED", 1),
        ("small", "SKIPPED", 1),
        ("review", "COMPLETED", 1),
    ]
    assert events(run_id).count("STEP_SKIPPED") == 1


def test_templates_resolve_in_task_config_and_an_unresolved_one_fails(client, auth, worker):
    ok = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "a", "handler": "echo", "config": {"total": 5}},
            {
                "type": "task",
                "name": "b",
                "handler": "echo",
                "config": {"copy": "{{state.total}}", "text": "for {{input.user}}"},
            },
        ],
        input={"user": "ada"},
    )
    bad = create_run_over_http(
        client,
        auth,
        [{"type": "task", "name": "a", "handler": "echo", "config": {"x": "{{nope}}"}}],
    )
    assert wait_for_run(ok).state == {"total": 5, "copy": 5, "text": "for ada"}
    failed = wait_for_run(bad)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "TEMPLATE_UNRESOLVED"
    assert steps_of(bad) == [("a", "FAILED", 1)]  # not retried


def test_retries_back_off_then_succeed_on_the_same_step_run(client, auth, worker, clock):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "call",
                "handler": "flaky",
                "config": {"failures": 2},
                "retry": {"maxAttempts": 3, "backoffMs": 100, "backoffMultiplier": 2},
            }
        ],
    )
    done = wait_for_run(run_id)

    assert done.status == statuses.COMPLETED
    assert done.state == {"calls": 3, "attempt": 3}
    assert steps_of(run_id) == [("call", "COMPLETED", 3)]
    assert events(run_id) == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_FAILED",
        "STEP_RETRYING",
        "STEP_STARTED",
        "STEP_FAILED",
        "STEP_RETRYING",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]


def test_a_run_fails_when_its_attempts_are_spent_and_retry_starts_it_afresh(
    client, auth, worker, clock
):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "first", "handler": "echo", "config": {"kept": True}},
            {
                "type": "task",
                "name": "call",
                "handler": "flaky",
                "config": {"failures": 3},
                "retry": {"maxAttempts": 2, "backoffMs": 100},
            },
        ],
    )
    failed = wait_for_run(run_id)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "TASK_FAILED"
    assert steps_of(run_id)[-1] == ("call", "FAILED", 2)
    retrying = [e for e in RunEvent.select().where(RunEvent.run == run_id)]
    retry_event = next(e for e in retrying if e.event_type == "STEP_RETRYING")
    assert retry_event.payload["attempt"] == 2 and retry_event.payload["retryAt"].endswith("Z")

    again = client.simulate_post(f"/v1/workflow-runs/{run_id}/retry", headers=auth)
    assert again.status_code == 200, again.json
    assert again.json["data"]["status"] == "RUNNING"

    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    assert done.state == {"kept": True, "calls": 4, "attempt": 2}
    assert steps_of(run_id)[-1] == ("call", "COMPLETED", 2)
    assert done.failed_at is None and done.error is None
    assert "WORKFLOW_RETRIED" in events(run_id)


@pytest.mark.parametrize("handler", ["sleepy", "swallows_errors"])
def test_a_task_past_its_timeout_fails_with_step_timeout(client, auth, worker, handler):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "slow",
                "handler": handler,
                "config": {"seconds": 2},
                "timeoutMs": 200,
                "retry": {"maxAttempts": 1},
            }
        ],
    )
    failed = wait_for_run(run_id, timeout=4)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "STEP_TIMEOUT"


def test_an_external_event_waits_for_a_resume_and_merges_its_payload(client, auth, worker):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "external_event", "name": "payment", "signalType": "payment.received"},
            {"type": "task", "name": "after", "handler": "echo", "config": {"shipped": True}},
        ],
    )
    wait_for_run(run_id, (statuses.WAITING,))

    wrong = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume", headers=auth, json={"signalType": "other"}
    )
    assert wrong.status_code == 409
    resumed = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume",
        headers=auth,
        json={"signalType": "payment.received", "payload": {"amount": 42}},
    )
    assert resumed.status_code == 200, resumed.json

    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    assert done.state == {"amount": 42, "shipped": True}
    signal = Signal.get(Signal.run == run_id)
    assert signal.consumed_at is not None and signal.step_run_id is not None
    assert events(run_id).count("SIGNAL_RECEIVED") == 1


def test_an_external_event_times_out(client, auth, worker, clock):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "external_event",
                "name": "reply",
                "signalType": "reply",
                "timeoutMs": 200,
                "retry": {"maxAttempts": 1},
            }
        ],
    )
    failed = wait_for_run(run_id)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "SIGNAL_TIMEOUT"


@pytest.mark.parametrize(
    ("decision", "extra", "status", "state_key"),
    [
        ("approved", {}, statuses.COMPLETED, {"draft": "v1"}),
        ("edited", {"editedContent": "v2"}, statuses.COMPLETED, {"draft": "v2"}),
        ("rejected", {}, statuses.FAILED, {"draft": "v1"}),
    ],
)
def test_an_approval_pauses_the_run_until_decided(
    client, auth, worker, decision, extra, status, state_key
):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}},
            {"type": "approval", "name": "review", "contentKey": "draft", "prompt": "OK?"},
        ],
    )
    paused = wait_for_run(run_id, (statuses.PAUSED,))
    assert paused.status == statuses.PAUSED
    listed = client.simulate_get("/v1/approval-requests?pending=true", headers=auth).json
    assert [r["content"] for r in listed["data"]] == ["v1"]
    request_id = listed["data"][0]["id"]

    decided = client.simulate_post(
        f"/v1/approval-requests/{request_id}/decide",
        headers=auth,
        json={"decision": decision, "decidedBy": "lin", **extra},
    )
    assert decided.status_code == 200, decided.json

    done = wait_for_run(run_id)
    assert done.status == status
    assert {k: done.state[k] for k in state_key} == state_key
    assert done.state["review"]["decision"] == decision
    assert done.state["review"]["decidedBy"] == "lin"
    if status == statuses.FAILED:
        assert done.error["code"] == "APPROVAL_REJECTED"
    again = client.simulate_post(
        f"/v1/approval-requests/{request_id}/decide", headers=auth, json={"decision": "approved"}
    )
    assert again.status_code == 409


def test_an_approval_of_missing_content_fails(client, auth, worker):
    run_id = create_run_over_http(
        client, auth, [{"type": "approval", "name": "review", "contentKey": "draft"}]
    )
    failed = wait_for_run(run_id)
    assert failed.error["code"] == "APPROVAL_CONTENT_MISSING"


def test_cancel_stops_a_waiting_run_and_a_late_timer_changes_nothing(client, auth, worker, clock):
    run_id = create_run_over_http(
        client, auth, [{"type": "wait", "name": "long", "durationMs": 300}]
    )
    wait_for_run(run_id, (statuses.WAITING,))
    cancelled = client.simulate_post(f"/v1/workflow-runs/{run_id}/cancel", headers=auth)
    assert cancelled.status_code == 200
    version = WorkflowRun.get_by_id(run_id).version
    time.sleep(0.6)
    after = WorkflowRun.get_by_id(run_id)
    assert after.status == statuses.CANCELLED and after.version == version
    assert steps_of(run_id) == [("long", "CANCELLED", 1)]


def test_a_loop_past_the_step_limit_fails_the_run(client, auth, worker, monkeypatch):
    monkeypatch.setattr(recording, "MAX_STEPS_PER_RUN", 20)
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "inc", "handler": "count"},
            {"type": "condition", "name": "forever", "expression": "true", "trueStep": "inc"},
        ],
    )
    failed = wait_for_run(run_id)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "STEP_LIMIT_EXCEEDED"
    assert failed.steps_executed == 20
    assert StepRun.select().where(StepRun.run == run_id).count() == 20


def test_a_step_that_would_grow_state_past_its_limit_fails(client, auth, worker):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "big", "handler": "echo", "config": {"blob": "x" * 200_000}},
            {
                "type": "task",
                "name": "more",
                "handler": "echo",
                "config": {"more": "y" * 70_000},
                "retry": {"maxAttempts": 1},
            },
        ],
    )
    failed = wait_for_run(run_id)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "STATE_TOO_LARGE"
    assert set(failed.state) == {"blob"}


def test_an_approval_times_out(client, auth, worker, clock):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}},
            {"type": "approval", "name": "review", "contentKey": "draft", "timeoutMs": 200},
        ],
    )
    failed = wait_for_run(run_id)
    assert failed.status == statuses.FAILED
    assert failed.error["code"] == "APPROVAL_TIMEOUT"
    assert events(run_id)[-4:] == [
        "APPROVAL_REQUESTED",
        "WORKFLOW_PAUSED",
        "STEP_FAILED",
        "WORKFLOW_FAILED",
    ]
    late = client.simulate_get("/v1/approval-requests?pending=true", headers=auth).json
    assert late["data"] == []


def test_a_wait_with_a_signal_type_ends_early_on_resume(client, auth, worker, clock):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "wait", "name": "cool-off", "durationMs": 60_000, "signalType": "skip"},
            {"type": "task", "name": "after", "handler": "echo", "config": {"done": True}},
        ],
    )
    wait_for_run(run_id, (statuses.WAITING,))
    resumed = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume",
        headers=auth,
        json={"signalType": "skip", "payload": {"reason": "vip"}},
    )
    assert resumed.status_code == 200, resumed.json
    done = wait_for_run(run_id)
    assert done.status == statuses.COMPLETED
    assert done.state == {"reason": "vip", "done": True}


def test_a_condition_that_does_not_parse_is_refused_at_creation(client, auth):
    created = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={
            "name": "bad",
            "version": "1",
            "steps": [{"type": "condition", "name": "c", "expression": "amount >"}],
        },
    )
    assert created.status_code == 400
    fields = created.json["error"]["details"]["fields"]
    assert fields[0]["field"] == "steps[0].expression"


def test_a_finished_wait_records_its_due_time_in_the_wire_format(client, auth, worker):
    run_id = create_run_over_http(client, auth, [{"type": "wait", "name": "nap", "durationMs": 0}])
    assert wait_for_run(run_id).status == statuses.COMPLETED
    (nap,) = StepRun.select().where(StepRun.run == run_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", nap.output["until"])
