"""A message's size never reaches a log line: malformed signals of 200 KiB, published with pika
to the real broker, are dead-lettered with short log lines that still name the message."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest

from models.signals import Signal
from tests.api_support import wait_until
from tests.test_broker_signals import dead_letters, publish

#: Longest log record accepted, message and traceback together.
MAX_RECORD = 2_000
#: 200 KiB of text: most of a signal's allowed payload.
BIG = "x" * (200 * 1024)


def _signal(**changes) -> dict:
    """A well-formed signal body for a run that does not exist, changed by `changes`."""
    body = {
        "queue_name": "signals",
        "actor_name": "deliver_signal",
        "args": [],
        "kwargs": {
            "workspaceId": f"ws_{'0' * 26}",
            "runId": "run-1",
            "signalType": "payment.received",
            "payload": {"blob": BIG},
            "signalId": str(uuid.uuid4()),
        },
        "options": {},
        "message_id": str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }
    kwargs = changes.pop("kwargs", {})
    body["kwargs"].update(kwargs)
    body.update(changes)
    return body


@pytest.fixture
def logged(caplog):
    """Every record of the test: Dramatiq's from DEBUG up, everyone else's from INFO."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="dramatiq")
    return caplog


def _formatted(caplog) -> list[str]:
    return [caplog.handler.format(record) for record in caplog.records]


def test_a_refused_signal_with_a_big_payload_is_logged_short_with_its_message_id(worker, logged):
    body = _signal()

    publish(body)

    wait_until(lambda: dead_letters() == 1, timeout=10)
    lines = _formatted(logged)
    assert max(map(len, lines)) <= MAX_RECORD
    failed = [line for line in lines if "Failed to process message" in line]
    assert failed and all(body["message_id"] in line for line in failed)
    assert any("deliver_signal(" in line for line in failed)
    assert Signal.select().count() == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"payload": "' + BIG.encode(), id="not-json"),
        pytest.param(b"\xff" + BIG.encode(), id="not-utf8"),
        pytest.param(_signal(kwargs={"workspaceId": BIG}), id="huge-workspace-id"),
        pytest.param(_signal(kwargs={"runId": BIG}), id="huge-run-id"),
        pytest.param(_signal(kwargs={BIG: 1}), id="huge-unknown-field"),
        pytest.param(_signal(kwargs={"signalType": BIG}), id="huge-signal-type"),
        pytest.param(_signal(kwargs={"payload": [BIG]}), id="payload-not-an-object"),
        pytest.param(_signal(queue_name=BIG), id="huge-queue-name"),
        pytest.param(_signal(actor_name=BIG), id="huge-actor-name"),
        pytest.param(_signal(message_id=BIG), id="huge-message-id"),
        pytest.param(_signal(options={BIG: True}), id="huge-option"),
        pytest.param(_signal(**{BIG: 1}), id="huge-envelope-field"),
    ],
)
def test_no_log_line_of_a_malformed_signal_is_long(worker, logged, body):
    publish(body if isinstance(body, bytes) else json.dumps(body).encode())

    wait_until(lambda: dead_letters() == 1, timeout=10)
    lines = _formatted(logged)
    assert max(map(len, lines)) <= MAX_RECORD, max(lines, key=len)[:300]
    assert all(thread.is_alive() for thread in worker.workers)
    assert Signal.select().count() == 0
