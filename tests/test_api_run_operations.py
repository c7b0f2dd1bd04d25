"""POST /v1/workflow-runs/:id/cancel, /resume and /retry: answers and their immediate effects.

Runs are put in each status through `RunChange` (tests/run_states.py); no worker runs here, so
a published `execute_step` stays in the `steps` queue to be counted.
"""

from __future__ import annotations

import logging
import threading

import falcon.testing
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from app.factory import create_app
from models import statuses
from models.base import utcnow
from models.config import current
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.signals import Signal
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, take_commands

#: Nothing listens here: a real broker client that cannot connect.
DEAD_BROKER_URL = "amqp://guest:guest@127.0.0.1:1/%2F"

LIVE = (statuses.PENDING, statuses.RUNNING, statuses.WAITING, statuses.PAUSED)


def _post(client, auth, run_id: str, operation: str, **kwargs):
    return client.simulate_post(f"/v1/workflow-runs/{run_id}/{operation}", headers=auth, **kwargs)


def _events(run_id: str) -> list[RunEvent]:
    return events_of(run_id)


def _steps(run_id: str) -> list[StepRun]:
    return list(StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id))


def _queued_steps(broker) -> int:
    return broker.get_queue_message_counts("steps")[0]


def _unchanged(run: WorkflowRun) -> None:
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.status, stored.version) == (run.status, run.version)


# Cancel


@pytest.mark.parametrize("status", LIVE)
def test_cancel_a_live_run(client, auth, workspace, broker, status):
    run = run_states.in_status(workspace[0], status)
    result = _post(client, auth, run.id, "cancel")
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert data["id"] == run.id and data["status"] == "CANCELLED"
    assert data["definition"] == {"name": "flow", "version": run.definition.version}
    assert TIMESTAMP.match(data["cancelledAt"]) and data["nextRunAt"] is None

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.status == "CANCELLED" and stored.cancelled_at is not None
    events = _events(run.id)
    assert stored.version == data["version"] == len(events) == run.version + 1
    assert events[-1].event_type == "WORKFLOW_CANCELLED"
    assert events[-1].payload == {"previousStatus": status}
    if status == statuses.PENDING:
        assert _steps(run.id) == []
    else:
        assert [s.status for s in _steps(run.id)] == ["CANCELLED"]
    assert _queued_steps(broker) == 0


@pytest.mark.parametrize("body", [None, {}])
def test_cancel_takes_no_body_or_an_empty_object(client, auth, workspace, body):
    run = run_states.pending(workspace[0])
    result = _post(client, auth, run.id, "cancel", **({} if body is None else {"json": body}))
    assert result.status_code == 200 and result.json["data"]["status"] == "CANCELLED"


def test_cancel_refuses_body_fields(client, auth, workspace):
    run = run_states.pending(workspace[0])
    result = _post(client, auth, run.id, "cancel", json={"reason": "changed my mind"})
    assert_error(result, 400, "VALIDATION_ERROR", "reason")
    _unchanged(run)


@pytest.mark.parametrize("status", sorted(statuses.FINAL_RUN_STATUSES))
def test_cancel_an_ended_run_is_409(client, auth, workspace, status):
    run = run_states.in_status(workspace[0], status)
    steps = [(s.id, s.status) for s in _steps(run.id)]
    error = assert_error(_post(client, auth, run.id, "cancel"), 409, "CONFLICT")
    assert status in error["message"]
    _unchanged(run)
    assert [(s.id, s.status) for s in _steps(run.id)] == steps


def test_cancel_unknown_runs_is_404(client, auth, other_workspace):
    theirs = run_states.pending(other_workspace[0])
    for run_id in (theirs.id, f"wfrun_{'0' * 26}", "wfrun_nope", f"wfdef_{'0' * 26}"):
        assert_error(_post(client, auth, run_id, "cancel"), 404, "NOT_FOUND")
    _unchanged(theirs)


# Resume


def test_resume_a_run_waiting_for_that_signal(client, auth, workspace, broker):
    run, step_run = run_states.waiting(workspace[0])
    before = utcnow()
    result = _post(
        client,
        auth,
        run.id,
        "resume",
        json={"signalType": "payment.received", "payload": {"amount": 5}},
    )
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert data["status"] == "RUNNING" and data["currentStepName"] == "payment"
    assert data["definition"]["name"] == "flow"

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.status == "RUNNING" and stored.version == data["version"]
    # The clock re-sends execute_step at nextRunAt if no worker took it by then.
    assert stored.next_run_at > before and TIMESTAMP.match(data["nextRunAt"])
    assert StepRun.get_by_id(step_run.id).status == "RUNNING"
    signal = Signal.get()
    assert (signal.run_id, signal.workspace_id) == (run.id, workspace[0].id)
    assert signal.signal_type == "payment.received" and signal.payload == {"amount": 5}
    assert signal.source == "api" and signal.consumed_at is None
    event = _events(run.id)[-1]
    assert event.event_type == "SIGNAL_RECEIVED" and event.step_run_id == step_run.id
    assert event.payload["signalId"] == signal.id
    assert event.payload["signalType"] == "payment.received"
    assert take_commands(broker, "steps") == [("execute_step", [run.id, step_run.id, 0, 1])]


def test_resume_payload_defaults_to_an_empty_object(client, auth, workspace):
    run, _ = run_states.waiting(workspace[0])
    result = _post(client, auth, run.id, "resume", json={"signalType": "payment.received"})
    assert result.status_code == 200, result.text
    assert Signal.get().payload == {}


def test_a_wait_with_a_signal_type_is_resumed_early(client, auth, workspace, broker):
    wait = {"type": "wait", "name": "cool_off", "durationMs": 3_600_000, "signalType": "skip"}
    run, step_run = run_states.waiting(workspace[0], wait)
    result = _post(client, auth, run.id, "resume", json={"signalType": "skip"})
    assert result.status_code == 200, result.text
    assert result.json["data"]["status"] == "RUNNING"
    assert StepRun.get_by_id(step_run.id).status == "RUNNING"
    assert Signal.select().count() == 1 and _queued_steps(broker) == 1


def test_a_wait_that_names_no_signal_takes_a_resume_of_any_type(client, auth, workspace, broker):
    run, step_run = run_states.waiting(
        workspace[0], {"type": "wait", "name": "nap", "durationMs": 1000}
    )
    result = _post(client, auth, run.id, "resume", json={"signalType": "skip"})
    assert result.status_code == 200, result.json
    (signal,) = Signal.select()
    assert (signal.signal_type, signal.step_run_id) == ("skip", step_run.id)
    assert _queued_steps(broker) == 1


def test_resume_with_another_signal_type_is_409(client, auth, workspace, broker):
    run, step_run = run_states.waiting(workspace[0])
    result = _post(client, auth, run.id, "resume", json={"signalType": "payment.refunded"})
    error = assert_error(result, 409, "CONFLICT")
    assert "payment.received" in error["message"]
    _unchanged(run)
    assert StepRun.get_by_id(step_run.id).status == "WAITING"
    assert Signal.select().count() == 0 and _queued_steps(broker) == 0


@pytest.mark.parametrize(
    "status",
    [s for s in statuses.RUN_STATUSES if s != statuses.WAITING],
)
def test_resume_a_run_that_is_not_waiting_is_409(client, auth, workspace, broker, status):
    run = run_states.in_status(workspace[0], status)
    result = _post(client, auth, run.id, "resume", json={"signalType": "payment.received"})
    error = assert_error(result, 409, "CONFLICT")
    assert status in error["message"]
    _unchanged(run)
    assert Signal.select().count() == 0 and _queued_steps(broker) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "signalType"),
        ({"signalType": ""}, "signalType"),
        ({"signalType": 5}, "signalType"),
        ({"signalType": None}, "signalType"),
        ({"signalType": "s" * 201}, "signalType"),
        ({"signalType": "payment.received", "payload": [1]}, "payload"),
        ({"signalType": "payment.received", "payload": "paid"}, "payload"),
        ({"signalType": "payment.received", "payload": None}, "payload"),
        ({"signalType": "payment.received", "signalId": "x"}, "signalId"),
    ],
)
def test_resume_validates_the_body(client, auth, workspace, body, field):
    run, _ = run_states.waiting(workspace[0])
    result = _post(client, auth, run.id, "resume", json=body)
    assert_error(result, 400, "VALIDATION_ERROR", field)
    _unchanged(run)
    assert Signal.select().count() == 0


def test_resume_without_a_body_is_400(client, auth, workspace):
    run, _ = run_states.waiting(workspace[0])
    assert_error(_post(client, auth, run.id, "resume"), 400, "VALIDATION_ERROR")


def test_a_signal_type_of_200_characters_is_accepted_and_matched(client, auth, workspace):
    step = {**run_states.EXTERNAL_EVENT, "signalType": "s" * 200}
    run, _ = run_states.waiting(workspace[0], step)
    result = _post(client, auth, run.id, "resume", json={"signalType": "s" * 200})
    assert result.status_code == 200, result.text


def test_a_payload_over_256_kib_is_413(client, auth, workspace, broker):
    run, _ = run_states.waiting(workspace[0])
    body = {"signalType": "payment.received", "payload": {"blob": "x" * (256 * 1024)}}
    assert_error(_post(client, auth, run.id, "resume", json=body), 413, "PAYLOAD_TOO_LARGE")
    _unchanged(run)
    assert Signal.select().count() == 0 and _queued_steps(broker) == 0
    body["payload"]["blob"] = "x" * (255 * 1024)
    assert _post(client, auth, run.id, "resume", json=body).status_code == 200


def test_two_concurrent_resumes_one_wins(auth, workspace):
    app = create_app(current())
    for _ in range(5):
        run, _ = run_states.waiting(workspace[0])
        barrier = threading.Barrier(2)
        results = []

        def resume(run_id=run.id, barrier=barrier, results=results):
            client = falcon.testing.TestClient(app)
            barrier.wait()
            results.append(
                _post(client, auth, run_id, "resume", json={"signalType": "payment.received"})
            )

        threads = [threading.Thread(target=resume) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert_error(loser, 409, "CONFLICT")
        assert Signal.select().where(Signal.run == run.id).count() == 1
        stored = WorkflowRun.get_by_id(run.id)
        assert stored.status == "RUNNING" and stored.version == run.version + 1


def test_a_broker_outage_does_not_fail_a_resume(auth, workspace, caplog):
    client = falcon.testing.TestClient(
        create_app(current(), broker=RabbitmqBroker(url=DEAD_BROKER_URL))
    )
    run, step_run = run_states.waiting(workspace[0])
    with caplog.at_level(logging.WARNING, logger="app.commands"):
        result = _post(client, auth, run.id, "resume", json={"signalType": "payment.received"})
    assert result.status_code == 200, result.text
    assert WorkflowRun.get_by_id(run.id).status == "RUNNING"
    assert "execute_step" in caplog.text and step_run.id in caplog.text
    assert "not published" in caplog.text


# Retry


def test_retry_a_failed_run_from_its_failed_step(client, auth, workspace, broker):
    steps = [run_states.TASK, {"type": "task", "name": "charge", "handler": "noop"}]
    run, failed_step = run_states.failed(workspace[0], steps, index=1, state={"total": 3})
    assert WorkflowRun.get_by_id(run.id).failed_at is not None
    before = utcnow()
    result = _post(client, auth, run.id, "retry")
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert data["status"] == "RUNNING" and data["state"] == {"total": 3}
    assert data["error"] is None and data["failedAt"] is None
    assert data["currentStepIndex"] == 1 and data["currentStepName"] == "charge"

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.status == "RUNNING" and stored.error is None and stored.failed_at is None
    assert stored.state == {"total": 3} and stored.next_run_at > before
    old, new = _steps(run.id)
    assert old.id == failed_step.id and old.status == "FAILED" and old.attempt == 1
    assert (new.step_index, new.step_name, new.status, new.attempt) == (1, "charge", "RUNNING", 1)
    assert stored.current_step_run_id == new.id
    types = [e.event_type for e in _events(run.id)]
    assert types[-2:] == ["WORKFLOW_RETRIED", "STEP_STARTED"]
    assert stored.version == data["version"] == len(types)
    assert take_commands(broker, "steps") == [("execute_step", [run.id, new.id, 1, 1])]


def test_retrying_twice_is_409_the_second_time(client, auth, workspace):
    run, _ = run_states.failed(workspace[0])
    assert _post(client, auth, run.id, "retry").status_code == 200
    assert_error(_post(client, auth, run.id, "retry"), 409, "CONFLICT")


@pytest.mark.parametrize("status", [s for s in statuses.RUN_STATUSES if s != statuses.FAILED])
def test_retry_a_run_that_has_not_failed_is_409(client, auth, workspace, broker, status):
    run = run_states.in_status(workspace[0], status)
    error = assert_error(_post(client, auth, run.id, "retry"), 409, "CONFLICT")
    assert status in error["message"]
    _unchanged(run)
    assert _queued_steps(broker) == 0


def test_retry_refuses_body_fields(client, auth, workspace):
    run, _ = run_states.failed(workspace[0])
    result = _post(client, auth, run.id, "retry", json={"fromStep": 0})
    assert_error(result, 400, "VALIDATION_ERROR", "fromStep")
    _unchanged(run)
    assert _post(client, auth, run.id, "retry", json={}).status_code == 200


def test_retry_unknown_runs_is_404(client, auth, other_workspace):
    theirs, _ = run_states.failed(other_workspace[0])
    for run_id in (theirs.id, f"wfrun_{'0' * 26}", "nope"):
        assert_error(_post(client, auth, run_id, "retry"), 404, "NOT_FOUND")
    _unchanged(theirs)


# Auth

OPERATIONS = [
    ("cancel", None),
    ("resume", {"signalType": "payment.received"}),
    ("retry", None),
]


@pytest.mark.parametrize(("operation", "body"), OPERATIONS)
def test_operations_need_a_key(client, workspace, operation, body):
    run, _ = run_states.waiting(workspace[0])
    kwargs = {"json": body} if body else {}
    result = client.simulate_post(f"/v1/workflow-runs/{run.id}/{operation}", **kwargs)
    assert_error(result, 401, "AUTH_ERROR")
    bad_key = {"x-api-key": "stv_" + "x" * 40}
    assert_error(_post(client, bad_key, run.id, operation, **kwargs), 401, "AUTH_ERROR")
    _unchanged(run)


@pytest.mark.parametrize(("operation", "body"), OPERATIONS)
def test_another_workspace_key_sees_404(client, workspace, other_workspace, operation, body):
    run, _ = run_states.waiting(workspace[0])
    theirs = {"x-api-key": other_workspace[1]}
    kwargs = {"json": body} if body else {}
    assert_error(_post(client, theirs, run.id, operation, **kwargs), 404, "NOT_FOUND")
    _unchanged(run)


def test_wrong_method_on_an_operation_is_405(client, auth, workspace):
    run = run_states.pending(workspace[0])
    result = client.simulate_get(f"/v1/workflow-runs/{run.id}/cancel", headers=auth)
    assert_error(result, 405, "METHOD_NOT_ALLOWED")
