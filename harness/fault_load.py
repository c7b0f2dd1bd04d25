"""The load of the fault runs (`harness.fault_runs`): runs of a mixed definition created over
HTTP, their signals published straight to RabbitMQ, both retried while a fault lasts.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import peewee
import pika
import requests

from models import statuses
from models.db import db

T = TypeVar("T")

SIGNAL_TYPE = "payment.received"
#: How long a client keeps retrying one create (the API down, the database restarting).
CREATE_DEADLINE_SECONDS = 60
#: The longest a database read is retried while PostgreSQL restarts.
READ_DEADLINE_SECONDS = 60


def mixed_steps(wait_ms: int, work_seconds: float) -> list[dict]:
    """Tasks, a condition, a wait, a signal from the broker, a slow task and a retried one."""
    return [
        {"type": "task", "name": "prepare", "handler": "echo", "config": {"prepared": True}},
        {
            "type": "condition",
            "name": "route",
            "expression": "input.amount > 100",
            "trueStep": "nap",
        },
        {"type": "task", "name": "small", "handler": "echo", "config": {"small": True}},
        {"type": "wait", "name": "nap", "durationMs": wait_ms},
        {"type": "external_event", "name": "payment", "signalType": SIGNAL_TYPE},
        {"type": "task", "name": "work", "handler": "sleepy", "config": {"seconds": work_seconds}},
        {
            "type": "task",
            "name": "charge",
            "handler": "fails_until",
            "config": {"failures": 1},
            "retry": {"maxAttempts": 3, "backoffMs": 200},
        },
        {"type": "task", "name": "ship", "handler": "echo", "config": {"shipped": True}},
    ]


def expected_state(run_input: dict, work_seconds: float) -> dict:
    """The state a run of `mixed_steps` ends with, from its input."""
    state = {"prepared": True, "paymentId": f"pay-{run_input['number']}"}
    if run_input["amount"] <= 100:
        state["small"] = True
    return {**state, "slept": work_seconds, "succeededAt": 2, "shipped": True}


def read(query: Callable[[], T]) -> T:
    """Run a read on this thread's connection, again on a new one while PostgreSQL is away."""
    deadline = time.monotonic() + READ_DEADLINE_SECONDS
    while True:
        try:
            db.connect(reuse_if_open=True)
            return query()
        except (peewee.OperationalError, peewee.InterfaceError):
            if time.monotonic() > deadline:
                raise
            if not db.is_closed():
                db.close()  # back to the pool, which drops a dead connection on its next use
            time.sleep(0.2)


class Load:
    """Runs of the mixed definition, created over HTTP with an idempotency key each (retried
    while the API fails), their signals published straight to RabbitMQ with pika (retried
    while it is down): half as soon as the run is accepted, before its step is reached, half
    once the run waits for it."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        broker_url: str,
        *,
        wait_ms: int,
        work_seconds: float,
        concurrency: int = 8,
    ) -> None:
        self.api_url = api_url
        self.broker_url = broker_url
        self.headers = {"x-api-key": api_key}
        self.work_seconds = work_seconds
        self.concurrency = concurrency
        #: How many times each signal is published (twice: a sender that retries).
        self.copies = 1
        self.workspace_id = requests.get(
            f"{api_url}/v1/workspaces/current", headers=self.headers, timeout=10
        ).json()["data"]["id"]
        created = requests.post(
            f"{api_url}/v1/workflow-definitions",
            headers=self.headers,
            json={
                "name": "faults",
                "version": uuid.uuid4().hex,
                "steps": mixed_steps(wait_ms, work_seconds),
            },
            timeout=10,
        )
        created.raise_for_status()
        self.definition_id = created.json()["data"]["id"]
        self._lock = threading.Lock()
        self._local = threading.local()
        self.reset()

    def reset(self) -> None:
        """Forget the runs of the last phase."""
        self.attempted = 0
        self.refused: list[str] = []
        self.accepted: dict[str, dict] = {}  # run id -> its input
        #: Every create answer: (monotonic time, HTTP status or the exception's name).
        self.answers: list[tuple[float, int | str]] = []
        self._early: list[str] = []
        self._when_waiting: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None

    def start(self, tag: str, count: int, spread: float) -> None:
        """Create `count` runs, evenly over `spread` seconds, from a pool of client threads."""
        self.count = count
        self._pool = ThreadPoolExecutor(self.concurrency)
        began = time.monotonic()
        for number in range(count):
            self._pool.submit(self._create, tag, number, began + spread * number / count)
        self._stop = threading.Event()
        self._signaller = threading.Thread(target=self._publish_signals, daemon=True)
        self._signaller.start()

    def wait_created(self) -> None:
        self._pool.shutdown(wait=True)

    def at_fraction(self, fraction: float) -> None:
        """Wait until this fraction of the runs has been attempted."""
        while self.attempted < fraction * self.count:
            time.sleep(0.01)

    def answers_between(self, start: float, end: float) -> list[int | str]:
        with self._lock:
            return [status for moment, status in self.answers if start <= moment <= end]

    def create_now(self, tag: str, count: int) -> list[int | str]:
        """Create `count` more runs one after the other, now; the first answer to each."""
        return [self._create(tag, self.count + n, time.monotonic()) for n in range(count)]

    def wait_final(self, timeout: float) -> float | None:
        """Wait until every accepted run is final, then stop publishing; when (None: never)."""
        deadline = time.monotonic() + timeout
        ids = list(self.accepted)
        final = list(statuses.FINAL_RUN_STATUSES)
        sql = "SELECT count(*) FROM workflow_run WHERE id = ANY(%s) AND status = ANY(%s)"
        while time.monotonic() < deadline:
            if read(lambda: db.execute_sql(sql, (ids, final)).fetchone()[0]) == len(ids):
                done = time.monotonic()
                self._stop.set()
                self._signaller.join(timeout=10)
                return done
            time.sleep(0.1)
        self._stop.set()
        return None

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers.update(self.headers)
        return self._local.session

    def _create(self, tag: str, number: int, at: float) -> int | str:
        """Create run `number` at `at`, retrying until accepted; the first answer."""
        time.sleep(max(0.0, at - time.monotonic()))
        run_input = {"amount": 150 if number % 2 else 50, "number": number}
        body = {
            "definitionId": self.definition_id,
            "input": run_input,
            "idempotencyKey": f"{tag}-{number}",
        }
        with self._lock:
            self.attempted += 1
        deadline = time.monotonic() + CREATE_DEADLINE_SECONDS
        first: int | str | None = None
        while True:
            try:
                answer = self._session().post(
                    f"{self.api_url}/v1/workflow-runs", json=body, timeout=10
                )
                status: int | str = answer.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self._lock:
                self.answers.append((time.monotonic(), status))
            first = first or status
            if status in (200, 201):
                run_id = answer.json()["data"]["id"]
                with self._lock:
                    self.accepted[run_id] = run_input
                    if number % 2 == 0:
                        self._early.append(run_id)  # its signal comes before its step
                    else:
                        self._when_waiting.add(run_id)
                return first
            retryable = not isinstance(status, int) or status >= 500
            if not retryable or time.monotonic() > deadline:
                with self._lock:
                    self.refused.append(f"{tag}-{number}: {status}")
                return first
            time.sleep(0.2)

    def _publish_signals(self) -> None:
        """Publish each run's signal, retrying while RabbitMQ or PostgreSQL is away."""
        channel = None
        waiting_sql = (
            "SELECT id FROM workflow_run WHERE id = ANY(%s) AND status = %s"
            " AND current_step_name = 'payment'"
        )
        while not self._stop.is_set():
            with self._lock:
                early, self._early = self._early, []
                candidates = list(self._when_waiting)
            due = list(early)
            if candidates:
                rows = read(
                    lambda ids=candidates: db.execute_sql(
                        waiting_sql, (ids, statuses.WAITING)
                    ).fetchall()
                )
                due += [row[0] for row in rows]
            sent = 0
            try:
                for run_id in due:
                    if channel is None or channel.is_closed:
                        connection = pika.BlockingConnection(pika.URLParameters(self.broker_url))
                        channel = connection.channel()
                        channel.confirm_delivery()
                    for _ in range(self.copies):
                        channel.basic_publish(
                            "",
                            "signals",
                            self._signal(run_id),
                            pika.BasicProperties(delivery_mode=2),
                            mandatory=True,
                        )
                    with self._lock:
                        self._when_waiting.discard(run_id)
                    sent += 1
            except (pika.exceptions.AMQPError, OSError):
                channel = None  # RabbitMQ is away: what was not sent goes on the next round
                with self._lock:
                    self._early += [run_id for run_id in due[sent:] if run_id in early]
            self._stop.wait(0.1)
        if channel is not None and channel.is_open:
            channel.connection.close()
        if not db.is_closed():
            db.close()

    def _signal(self, run_id: str) -> bytes:
        """The documented message of `rabbitmq/README.md`, one signalId per run."""
        number = self.accepted[run_id]["number"]
        return json.dumps(
            {
                "queue_name": "signals",
                "actor_name": "deliver_signal",
                "args": [],
                "kwargs": {
                    "workspaceId": self.workspace_id,
                    "runId": run_id,
                    "signalType": SIGNAL_TYPE,
                    "payload": {"paymentId": f"pay-{number}"},
                    "signalId": f"pay-{run_id}",
                },
                "options": {},
                "message_id": str(uuid.uuid4()),
                "message_timestamp": int(time.time() * 1000),
            }
        ).encode()
