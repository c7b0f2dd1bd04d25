"""Signals other services publish straight to RabbitMQ (SPEC section 6), with plain pika.

Nothing here sends through Dramatiq: each message is built and published the way another
service would, as `rabbitmq/README.md` documents, and the outcome is read in the database.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import time
import uuid
from pathlib import Path

import pika
import pika.exceptions
import pytest

import actors
from actors import topology
from app import cli
from models import config, statuses
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.signals import Signal
from tests.api_support import wait_until
from tests.conftest import TEST_BROKER_URL, TEST_VHOST
from tests.support import create_run_over_http, wait_for_run

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The publisher user the tests create, one per test vhost so parallel suites do not meet.
PUBLISHER = f"stevora-signals-{TEST_VHOST}"
PUBLISHER_PASSWORD = "publisher-test-password"

WAIT_THEN_SHIP = [
    {"type": "external_event", "name": "payment", "signalType": "payment.received"},
    {"type": "task", "name": "ship", "handler": "echo", "config": {"shipped": True}},
]


def signal(
    run_id: str, signal_type: str, payload: dict, signal_id: str | None = None, **kwargs
) -> dict:
    """The documented message body for `deliver_signal`; `kwargs` override its fields."""
    run = WorkflowRun.get_by_id(run_id)
    return {
        "queue_name": "signals",
        "actor_name": "deliver_signal",
        "args": [],
        "kwargs": {
            "workspaceId": run.workspace_id,
            "runId": run_id,
            "signalType": signal_type,
            "payload": payload,
            "signalId": signal_id or str(uuid.uuid4()),
            **kwargs,
        },
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }


def publish(
    body: dict | bytes,
    *,
    exchange: str = "",
    routing_key: str = "signals",
    url: str = TEST_BROKER_URL,
) -> None:
    """Publish one persistent JSON message with plain pika, confirmed by RabbitMQ."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            routing_key,
            body if isinstance(body, bytes) else json.dumps(body).encode(),
            pika.BasicProperties(delivery_mode=2, content_type="application/json"),
            mandatory=True,
        )


def dead_letters() -> int:
    """Messages in the signals dead-letter queue."""
    with pika.BlockingConnection(pika.URLParameters(TEST_BROKER_URL)) as connection:
        declared = connection.channel().queue_declare("signals.XQ", passive=True)
        return declared.method.message_count


def settled(queue_name: str = "signals") -> bool:
    """True when the queue has no message, ready or held unacknowledged by a worker."""
    listed = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            TEST_VHOST,
            "--no-table-headers",
            "name",
            "messages",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = dict(line.split("\t") for line in listed.splitlines())
    return counts[queue_name] == "0"


def events(run_id: str) -> list[str]:
    return [e.event_type for e in events_of(run_id)]


def signals_of(run_id: str) -> list[Signal]:
    return list(Signal.select().where(Signal.run == run_id).order_by(Signal.id))


def step_run(run_id: str, name: str) -> StepRun:
    return StepRun.get((StepRun.run == run_id) & (StepRun.step_name == name))


def publisher_url(password: str) -> str:
    return f"amqp://{PUBLISHER}:{password}@127.0.0.1:5672/{TEST_VHOST}"


@pytest.fixture
def publisher():
    """The signals exchange declared; the publisher user is removed afterwards."""
    topology.declare_topology(actors.broker, TEST_BROKER_URL)
    yield PUBLISHER
    subprocess.run(["rabbitmqctl", "-q", "delete_user", PUBLISHER], capture_output=True)


def test_a_signal_published_with_pika_resumes_a_waiting_run(client, auth, worker):
    run_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    wait_for_run(run_id, (statuses.WAITING,))

    publish(signal(run_id, "payment.received", {"amount": 42}, "pay-1"))

    done = wait_for_run(run_id, timeout=5)
    assert done.status == statuses.COMPLETED
    assert done.state == {"amount": 42, "shipped": True}
    [stored] = signals_of(run_id)
    assert (stored.signal_key, stored.source, stored.payload) == ("pay-1", "broker", {"amount": 42})
    assert stored.consumed_at is not None
    assert stored.step_run_id == step_run(run_id, "payment").id
    assert events(run_id).count("SIGNAL_RECEIVED") == 1
    received = RunEvent.get((RunEvent.run == run_id) & (RunEvent.event_type == "SIGNAL_RECEIVED"))
    assert received.payload == {
        "signalId": stored.id,
        "signalType": "payment.received",
        "source": "broker",
    }


#: Two steps waiting for the same signal type, each followed by a counter.
TWO_TICKS = [
    {"type": "external_event", "name": "first", "signalType": "tick"},
    {"type": "task", "name": "count_first", "handler": "count"},
    {"type": "external_event", "name": "second", "signalType": "tick"},
    {"type": "task", "name": "count_second", "handler": "count"},
]


def test_the_same_signal_published_twice_takes_effect_once(client, auth, worker):
    run_id = create_run_over_http(client, auth, TWO_TICKS)
    wait_for_run(run_id, (statuses.WAITING,))

    message = signal(run_id, "tick", {"ticked": 1}, "tick-1")
    publish(message)
    publish({**message, "message_id": str(uuid.uuid4())})  # a repeat, as a retrying sender sends

    wait_until(lambda: WorkflowRun.get_by_id(run_id).current_step_name == "second", timeout=5)
    wait_until(settled, timeout=5)
    run = WorkflowRun.get_by_id(run_id)
    assert (run.status, run.state) == (statuses.WAITING, {"ticked": 1, "n": 1})
    [stored] = signals_of(run_id)
    assert stored.step_run_id == step_run(run_id, "first").id
    assert events(run_id).count("SIGNAL_RECEIVED") == 1

    publish(signal(run_id, "tick", {"ticked": 2}, "tick-2"))

    done = wait_for_run(run_id, timeout=5)
    assert (done.status, done.state) == (statuses.COMPLETED, {"ticked": 2, "n": 2})
    assert events(run_id).count("SIGNAL_RECEIVED") == 2


def test_two_signals_of_one_type_are_consumed_in_order_by_two_steps(client, auth, worker):
    run_id = create_run_over_http(client, auth, TWO_TICKS)
    wait_for_run(run_id, (statuses.WAITING,))

    publish(signal(run_id, "tick", {"last": "a"}, "tick-a"))
    publish(signal(run_id, "tick", {"last": "b"}, "tick-b"))

    done = wait_for_run(run_id, timeout=5)
    assert done.status == statuses.COMPLETED
    older, newer = signals_of(run_id)  # in the order they were stored
    assert older.step_run_id == step_run(run_id, "first").id
    assert newer.step_run_id == step_run(run_id, "second").id
    assert done.state == {"last": newer.payload["last"], "n": 2}
    assert events(run_id).count("SIGNAL_RECEIVED") == 2


def test_an_early_signal_is_kept_until_the_step_and_never_waits(client, auth, worker):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "slow", "handler": "sleepy", "config": {"seconds": 0.6}},
            *WAIT_THEN_SHIP,
        ],
    )
    wait_until(lambda: WorkflowRun.get_by_id(run_id).status == statuses.RUNNING, timeout=5)

    publish(signal(run_id, "payment.received", {"amount": 7}, "early-1"))
    wait_until(lambda: signals_of(run_id), timeout=5)
    running = WorkflowRun.get_by_id(run_id)
    assert (running.status, running.current_step_name) == (statuses.RUNNING, "slow")
    assert signals_of(run_id)[0].consumed_at is None
    # Over REST the same signal is refused until the run waits for it (SPEC section 6).
    early = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume",
        headers=auth,
        json={"signalType": "payment.received", "payload": {}},
    )
    assert early.status_code == 409

    done = wait_for_run(run_id, timeout=5)
    assert done.status == statuses.COMPLETED
    assert done.state == {"slept": 0.6, "amount": 7, "shipped": True}
    assert signals_of(run_id)[0].step_run_id == step_run(run_id, "payment").id
    assert "WORKFLOW_WAITING" not in events(run_id)
    assert events(run_id).count("SIGNAL_RECEIVED") == 1


def test_a_signal_sent_during_a_wait_step_is_kept_for_the_step_after(client, auth, worker, clock):
    run_id = create_run_over_http(
        client, auth, [{"type": "wait", "name": "pause", "durationMs": 400}, *WAIT_THEN_SHIP]
    )
    wait_for_run(run_id, (statuses.WAITING,))

    publish(signal(run_id, "payment.received", {"amount": 9}, "during-wait"))

    done = wait_for_run(run_id, timeout=5)
    assert done.status == statuses.COMPLETED
    assert done.state == {"amount": 9, "shipped": True}
    [stored] = signals_of(run_id)
    assert stored.step_run_id == step_run(run_id, "payment").id
    waits = RunEvent.select().where(
        (RunEvent.run == run_id) & (RunEvent.event_type == "WORKFLOW_WAITING")
    )
    assert [event.payload["reason"] for event in waits] == ["wait"]


def test_a_signal_stored_just_as_its_run_starts_waiting_is_not_stranded(
    client, auth, worker, monkeypatch
):
    # The worst moment: the signal's actor reads the run while it is still in the task before,
    # and stores the signal only after the run went WAITING and looked for signals itself.
    from actors import signals

    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "slow", "handler": "sleepy", "config": {"seconds": 0.3}},
            *WAIT_THEN_SHIP,
        ],
    )
    store = signals._store

    def store_once_the_run_waits(fields):
        wait_until(lambda: WorkflowRun.get_by_id(run_id).status == statuses.WAITING, timeout=5)
        time.sleep(0.3)  # the step has looked for a stored signal by now
        return store(fields)

    monkeypatch.setattr(signals, "_store", store_once_the_run_waits)
    wait_until(lambda: WorkflowRun.get_by_id(run_id).status == statuses.RUNNING, timeout=5)

    publish(signal(run_id, "payment.received", {"amount": 3}, "racing"))

    done = wait_for_run(run_id, timeout=5)
    assert (done.status, done.state) == (
        statuses.COMPLETED,
        {"slept": 0.3, "amount": 3, "shipped": True},
    )
    assert signals_of(run_id)[0].step_run_id == step_run(run_id, "payment").id


def nested(depth: int) -> dict:
    """An object `depth` levels deep."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_malformed_messages_are_dead_lettered_and_the_worker_keeps_serving(
    client, auth, workspace, worker, caplog
):
    caplog.set_level(logging.WARNING)
    run_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    waiting = wait_for_run(run_id, (statuses.WAITING,))
    good = signal(run_id, "payment.received", {"amount": 1})
    kwargs = good["kwargs"]
    without_kwargs = {key: value for key, value in good.items() if key != "kwargs"}
    malformed = [
        b"this is not JSON",
        without_kwargs,
        {**good, "args": ["positional"]},
        {**good, "kwargs": ["not", "an", "object"]},
        {**good, "kwargs": {**kwargs, "payload": [1, 2]}},
        {**good, "kwargs": {**kwargs, "payload": {"text": "nul \u0000"}}},
        {**good, "kwargs": {**kwargs, "payload": nested(65)}},
        {**good, "kwargs": {**kwargs, "payload": nested(500)}},
        {**good, "kwargs": {**kwargs, "runId": "run-1"}},
        {**good, "kwargs": {**kwargs, "workspaceId": "acme"}},
        {**good, "kwargs": {**kwargs, "signalId": ""}},
        {**good, "kwargs": {**kwargs, "extra": True}},
        {**good, "kwargs": {**kwargs, "runId": "wfrun_" + "0" * 26}},
        {**good, "actor_name": "no_such_actor"},
        {**good, "actor_name": "start_run", "args": [run_id], "kwargs": {}},
        {**good, "options": {"pipe_target": {"actor_name": "start_run"}}},
        # More than the consumer's prefetch: each would otherwise hold a slot for good.
        *[{**good, "queue_name": "runs"} for _ in range(10)],
    ]

    for body in malformed:
        publish(body)

    wait_until(lambda: dead_letters() == len(malformed), timeout=5)
    untouched = WorkflowRun.get_by_id(run_id)
    assert (untouched.status, untouched.version, untouched.state) == (
        statuses.WAITING,
        waiting.version,
        {},
    )
    assert signals_of(run_id) == []
    logged = [record.getMessage() for record in caplog.records]
    for reason in (
        "Failed to decode message",
        "dead-lettered: a signal takes keyword arguments only",
        "dead-lettered: kwargs and options must be JSON objects",
        "dead-lettered: payload must be a JSON object",
        "dead-lettered: payload holds NUL",
        "dead-lettered: payload nests more than 64 levels deep",
        "dead-lettered: runId is not a workflow run id: 'run-1'",
        "dead-lettered: no run wfrun_00000000000000000000000000 in workspace",
        "dead-lettered: no actor 'no_such_actor' consumes queue 'signals'",
        "dead-lettered: no actor 'start_run' consumes queue 'signals'",
        "dead-lettered: options must be {}, not set ['pipe_target']",
        "dead-lettered: queue_name is 'runs', not 'signals'",
    ):
        assert any(reason in message for message in logged), reason
    assert all(thread.is_alive() for thread in worker.workers)
    assert all(thread.is_alive() for thread in worker.consumers.values())

    publish(good)

    done = wait_for_run(run_id, timeout=5)
    assert (done.status, done.state) == (statuses.COMPLETED, {"amount": 1, "shipped": True})
    assert dead_letters() == len(malformed)


def test_a_signal_naming_a_run_of_another_workspace_is_dead_lettered(
    client, auth, other_workspace, worker
):
    others = {"x-api-key": other_workspace[1]}
    theirs = create_run_over_http(client, others, WAIT_THEN_SHIP)
    ours = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    before = wait_for_run(theirs, (statuses.WAITING,))
    wait_for_run(ours, (statuses.WAITING,))
    our_workspace = WorkflowRun.get_by_id(ours).workspace_id

    publish(signal(theirs, "payment.received", {"stolen": True}, workspaceId=our_workspace))

    wait_until(lambda: dead_letters() == 1, timeout=5)
    after = WorkflowRun.get_by_id(theirs)
    assert (after.status, after.version, after.state) == (statuses.WAITING, before.version, {})
    assert signals_of(theirs) == [] and signals_of(ours) == []
    assert WorkflowRun.get_by_id(ours).status == statuses.WAITING


def test_the_publisher_user_may_publish_signals_to_the_exchange_only(
    client, auth, worker, publisher
):
    run_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    other_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    wait_for_run(run_id, (statuses.WAITING,))
    before = wait_for_run(other_id, (statuses.WAITING,))
    assert topology.set_up_publisher(publisher, "first-password", TEST_VHOST) is True
    assert topology.set_up_publisher(publisher, PUBLISHER_PASSWORD, TEST_VHOST) is False
    url = publisher_url(PUBLISHER_PASSWORD)

    publish(
        signal(run_id, "payment.received", {"amount": 5}, "via-exchange"),
        exchange=topology.SIGNALS_EXCHANGE,
        routing_key="signals",
        url=url,
    )

    done = wait_for_run(run_id, timeout=5)
    assert (done.status, done.state) == (statuses.COMPLETED, {"amount": 5, "shipped": True})
    assert signals_of(run_id)[0].source == "broker"

    for routing_key in ("runs", "signals"):
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            publish(signal(other_id, "payment.received", {}), routing_key=routing_key, url=url)
        assert refused.value.reply_code == 403
    with pytest.raises(pika.exceptions.UnroutableError):  # no binding but `signals`
        publish(
            signal(other_id, "payment.received", {}),
            exchange=topology.SIGNALS_EXCHANGE,
            routing_key="runs",
            url=url,
        )
    with (
        pika.BlockingConnection(pika.URLParameters(url)) as connection,
        pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused,
    ):
        connection.channel().basic_get("signals")
    assert refused.value.reply_code == 403
    after = WorkflowRun.get_by_id(other_id)
    assert (after.status, after.version, signals_of(other_id)) == (
        statuses.WAITING,
        before.version,
        [],
    )


def test_stevora_rabbitmq_setup_creates_then_updates_the_publisher(
    client, auth, worker, publisher, monkeypatch, capsys
):
    run_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    wait_for_run(run_id, (statuses.WAITING,))
    monkeypatch.setattr(config, "_current", config.current())  # `stevora` configures anew
    configured = dataclasses.replace(config.current(), signal_publisher_user=publisher)
    for password, exit_code in ((None, 1), ("one", 0), ("two", 0)):
        settings = dataclasses.replace(configured, signal_publisher_password=password)
        assert cli.main(["rabbitmq-setup"], settings) == exit_code

    said = capsys.readouterr()
    assert "set STEVORA_SIGNAL_PUBLISHER_PASSWORD" in said.err
    assert f"Created user {publisher}" in said.out and f"Updated user {publisher}" in said.out
    publish(
        signal(run_id, "payment.received", {"amount": 2}),
        exchange=topology.SIGNALS_EXCHANGE,
        url=publisher_url("two"),
    )
    assert wait_for_run(run_id, timeout=5).state == {"amount": 2, "shipped": True}


def test_the_shell_script_sets_up_the_same_publisher(client, auth, worker, publisher):
    run_id = create_run_over_http(client, auth, WAIT_THEN_SHIP)
    wait_for_run(run_id, (statuses.WAITING,))
    script = REPO_ROOT / "rabbitmq" / "signal-publisher.sh"
    env = {
        **os.environ,
        "STEVORA_SIGNAL_PUBLISHER_USER": publisher,
        "STEVORA_SIGNAL_PUBLISHER_PASSWORD": PUBLISHER_PASSWORD,
    }

    for said in ("Created", "Updated"):
        ran = subprocess.run([script, TEST_VHOST], env=env, capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.startswith(f"{said} user {publisher}")

    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_user_permissions", publisher, "--formatter", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [granted] = json.loads(listed)
    assert granted["vhost"] == TEST_VHOST
    assert (granted["configure"], granted["write"], granted["read"]) == (
        topology.PUBLISHER_PERMISSIONS
    )
    publish(
        signal(run_id, "payment.received", {"amount": 8}),
        exchange=topology.SIGNALS_EXCHANGE,
        url=publisher_url(PUBLISHER_PASSWORD),
    )
    assert wait_for_run(run_id, timeout=5).state == {"amount": 8, "shipped": True}


def test_a_rest_resume_that_answers_200_delivers_its_own_payload_despite_a_broker_signal(
    client, auth, worker
):
    # Given runs waiting for "go"
    steps = [{"type": "external_event", "name": "await", "signalType": "go"}]
    run_ids = [create_run_over_http(client, auth, steps) for _ in range(12)]
    for run_id in run_ids:
        wait_for_run(run_id, wanted=(statuses.WAITING,))

    # When a broker signal and a REST resume race for each of them
    answers = {}
    for run_id in run_ids:
        publish(signal(run_id, "go", {"via": "broker"}))
        answers[run_id] = client.simulate_post(
            f"/v1/workflow-runs/{run_id}/resume",
            headers=auth,
            json={"signalType": "go", "payload": {"via": "rest"}},
        ).status_code

    # Then a resume that said 200 had its payload taken by the step; a 409 lost to the broker
    for run_id in run_ids:
        run = wait_for_run(run_id)
        assert run.status == statuses.COMPLETED
        expected = {200: "rest", 409: "broker"}[answers[run_id]]
        assert run.state == {"via": expected}, (answers[run_id], run.state)
