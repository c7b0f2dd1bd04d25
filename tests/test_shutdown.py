"""Graceful shutdown of the real processes: SIGTERM finishes the work in hand and loses nothing.

A platform stops a process either by its pid (Docker, Kubernetes: PID 1) or by its whole
process group (honcho under `stevora up`, Heroku, systemd's default KillMode); both are
tried. After the signal, the database must hold every run a client was told about, each
advanced once (`harness.invariants`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.invariants import assert_invariants
from harness.processes import System, worker_command
from models import statuses
from models.runs import StepRun, WorkflowRun
from tests.api_support import wait_until
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL
from tests.support import create_run_over_http, wait_for_run
from tests.test_races_and_crashes import marks

#: How the platform delivers SIGTERM: to the main process, or to its whole process group.
DELIVERIES = {
    "pid": lambda pid: os.kill(pid, signal.SIGTERM),
    "process group": lambda pid: os.killpg(pid, signal.SIGTERM),
}


NOOP = {"type": "task", "name": "a", "handler": "noop"}


@pytest.fixture
def system(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
    }
    system = System(tmp_path, env, worker=worker_command(1, 2))
    yield system
    system.kill_all()


def _send_half(url: str, body: bytes, headers: dict[str, str]) -> socket.socket:
    """Open a request and send all of it but the last byte of its body: a request in flight."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = ["POST /v1/workflow-runs HTTP/1.1", f"Host: {host}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:-1])
    return sock


def _finish(sock: socket.socket, body: bytes) -> tuple[int, dict]:
    """Send the last byte and read the whole answer: (status, JSON body)."""
    with sock:
        sock.sendall(body[-1:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


@pytest.mark.parametrize("delivery", sorted(DELIVERIES))
def test_sigterm_to_the_web_process_answers_the_requests_in_flight(system, client, auth, delivery):
    # Given the web process with eight create requests in flight (all but their last byte sent),
    # more than its four threads take at once
    definition = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={
            "name": "web",
            "version": "1",
            "steps": [{"type": "task", "name": "a", "handler": "noop"}],
        },
    ).json["data"]["id"]
    web = system.start("web")
    system.wait_healthy()
    headers = {**auth, "Content-Type": "application/json"}
    bodies = [
        json.dumps({"definitionId": definition, "idempotencyKey": f"in-flight-{n}"}).encode()
        for n in range(8)
    ]
    sockets = [_send_half(system.url, body, headers) for body in bodies]
    time.sleep(0.3)

    # When it gets SIGTERM, and only then do the requests finish
    DELIVERIES[delivery](web.pid)
    time.sleep(0.3)
    with ThreadPoolExecutor(len(sockets)) as pool:
        answers = list(pool.map(_finish, sockets, bodies))

    # Then every request is answered 201 with its run, which is in the database; and the web
    # process exits cleanly
    assert [status for status, _ in answers] == [201] * len(bodies), answers
    run_ids = [body["data"]["id"] for _, body in answers]
    assert WorkflowRun.select().where(WorkflowRun.id.in_(run_ids)).count() == len(bodies)
    assert web.wait(timeout=30) == 0, system.logs()

    # And the runs complete once a worker and a clock are there
    system.start("worker")
    system.start("clock")
    for run_id in run_ids:
        assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})


@pytest.mark.parametrize("delivery", sorted(DELIVERIES))
def test_sigterm_to_the_worker_finishes_the_steps_in_hand_and_hands_back_the_rest(
    system, client, auth, tmp_path, delivery
):
    # Given a worker of two threads in the middle of two slow steps, with two more runs queued
    log = tmp_path / "calls"
    steps = [
        {
            "type": "task",
            "name": "slow",
            "handler": "marker",
            "config": {"path": str(log), "seconds": 1},
        },
        {"type": "task", "name": "after", "handler": "echo", "config": {"after": True}},
    ]
    worker = system.start("worker")
    run_ids = [create_run_over_http(client, auth, steps) for _ in range(4)]
    wait_until(lambda: len(marks(log, "start")) == 2, timeout=20)

    # When it gets SIGTERM
    DELIVERIES[delivery](worker.pid)

    # Then it finishes the two steps in hand (and their runs) before it exits, cleanly, and
    # starts no other
    assert worker.wait(timeout=30) == 0, system.logs()
    assert len(marks(log, "start")) == len(marks(log, "end")) == 2, system.logs()
    slow_done = StepRun.select().where(
        StepRun.run.in_(run_ids)
        & (StepRun.step_name == "slow")
        & (StepRun.status == statuses.COMPLETED)
    )
    assert slow_done.count() == 2
    pending = WorkflowRun.select().where(
        WorkflowRun.id.in_(run_ids) & (WorkflowRun.status == statuses.PENDING)
    )
    assert pending.count() == 2

    # And a new worker completes the other two from the messages handed back to RabbitMQ (no
    # clock: a lost message would wait for its redrive, 30 s), each slow step run once
    system.start("worker")
    for run_id in run_ids:
        assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED
    assert len(marks(log, "start")) == len(marks(log, "end")) == len(run_ids)
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})
