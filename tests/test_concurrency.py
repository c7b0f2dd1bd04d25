"""Concurrency limits (SPEC section 9) through the real stack: the API, a worker, the clock.

At most `limit` runs of a definition (per key value, with `key`) are started and not final at
once; the others stay PENDING with `queuedReason: "concurrency"` and start in creation order.
The counts live in PostgreSQL (`concurrency_slot`), moved in the transactions of the runs'
moves, so the checks sample the database while the runs race.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from actors.runs import start_run
from harness.invariants import assert_invariants, check
from models import concurrency, statuses
from models.db import db
from models.definitions import WorkflowDefinition
from models.ids import new_id
from models.runs import WorkflowRun
from models.transitions import RunChange
from tests.api_support import assert_error, wait_until
from tests.support import change_settings, insert_run, post_run, wait_for_run
from tests.test_crash_properties import restarted_worker  # noqa: F401 (a fixture)

#: Statuses of a run that holds its slot (started, not final).
_ACTIVE = ("RUNNING", "WAITING", "PAUSED")


def sleepy(seconds: float) -> list[dict]:
    return [{"type": "task", "name": "nap", "handler": "sleepy", "config": {"seconds": seconds}}]


def limited(client, auth, steps: list[dict], **limits) -> str:
    """A definition of `steps` with `concurrency: limits`; its id."""
    answer = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={
            "name": "limited",
            "version": str(time.monotonic_ns()),
            "steps": steps,
            "concurrency": limits,
        },
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["data"]["concurrency"] == limits
    return answer.json["data"]["id"]


def create(client, auth, definition_id: str, **input) -> str:
    answer = post_run(client, auth, definition_id, input=input)
    assert answer.status_code == 201, answer.json
    return answer.json["data"]["id"]


def active_per_key(definition_id: str) -> dict[str, int]:
    """Runs of the definition started and not final, per key, as the database has them now."""
    with db.connection_context():
        rows = db.execute_sql(
            "SELECT concurrency_key, count(*) FROM workflow_run WHERE definition_id = %s"
            " AND status = ANY(%s) AND started_at IS NOT NULL GROUP BY 1",
            (definition_id, list(_ACTIVE)),
        ).fetchall()
    return dict(rows)


class Sampler:
    """Samples `active_per_key` in a thread while runs race, and the slot invariant too."""

    def __init__(self, definition_id: str) -> None:
        self.definition_id = definition_id
        self.samples: list[dict[str, int]] = []
        self.violations: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(active_per_key(self.definition_id))
            with db.connection_context():
                self.violations += [v for v in check() if v.rule == "concurrency"]
            time.sleep(0.01)

    def most(self, key: str = "") -> int:
        return max(sample.get(key, 0) for sample in self.samples)

    def most_in_all(self) -> int:
        return max(sum(sample.values()) for sample in self.samples)


def slot_counts(definition_id: str) -> dict[str, int]:
    return {
        slot.key: slot.active
        for slot in concurrency.ConcurrencySlot.select().where(
            concurrency.ConcurrencySlot.definition == definition_id
        )
    }


def test_fifty_concurrent_creates_never_run_more_than_the_limit_and_all_complete(
    client, auth, worker, clock
):
    # Given a definition limited to 3 runs at once, each run busy for a moment
    definition_id = limited(client, auth, sleepy(0.15), limit=3)

    # When 50 runs are created at once, from 10 clients
    with Sampler(definition_id) as sampler:
        with ThreadPoolExecutor(10) as pool:
            run_ids = list(pool.map(lambda n: create(client, auth, definition_id, n=n), range(50)))
        # Then some wait in the queue, saying why
        wait_until(
            lambda: (
                WorkflowRun.select().where(WorkflowRun.queued_reason == concurrency.QUEUED).count()
            )
        )
        # And all 50 complete
        for run_id in run_ids:
            assert wait_for_run(run_id, timeout=60).status == statuses.COMPLETED

    # And never were more than 3 started and not final at once, nor the counts wrong
    assert len(sampler.samples) > 20
    assert sampler.most() == 3
    assert sampler.violations == []
    assert slot_counts(definition_id) == {"": 0}
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})
    done = client.simulate_get(f"/v1/workflow-runs/{run_ids[0]}", headers=auth).json["data"]
    assert done["queuedReason"] is None


def test_queued_runs_start_in_creation_order(client, auth, worker, clock):
    # Given a definition limited to one run at a time
    definition_id = limited(client, auth, sleepy(0.05), limit=1)

    # When ten runs are created one after another
    run_ids = [create(client, auth, definition_id, n=n) for n in range(10)]

    # Then they run one at a time, in the order they were created
    for run_id in run_ids:
        assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED
    runs = {run.id: run for run in WorkflowRun.select().where(WorkflowRun.id.in_(run_ids))}
    by_start = sorted(run_ids, key=lambda run_id: runs[run_id].started_at)
    assert by_start == run_ids
    for earlier, later in itertools.pairwise(run_ids):
        assert runs[earlier].completed_at <= runs[later].started_at
    assert_invariants(run_ids)


def test_a_limit_with_a_key_holds_per_key_value(client, auth, worker, clock):
    # Given a definition limited to one run per customer
    definition_id = limited(client, auth, sleepy(0.2), limit=1, key="{{input.customerId}}")

    # When three runs of each of two customers are created at once
    with Sampler(definition_id) as sampler:
        with ThreadPoolExecutor(6) as pool:
            run_ids = list(
                pool.map(lambda c: create(client, auth, definition_id, customerId=c), "ababab")
            )
        for run_id in run_ids:
            assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED

    # Then each customer had one run at a time, and the two customers ran side by side
    assert sampler.most("a") == 1 and sampler.most("b") == 1
    assert sampler.most_in_all() == 2
    assert sampler.violations == []
    assert slot_counts(definition_id) == {"a": 0, "b": 0}
    assert_invariants(run_ids)


def test_cancelling_a_queued_run_frees_nothing_and_loses_nothing(client, auth, worker, clock):
    # Given one run holding the only slot, and two queued behind it
    definition_id = limited(client, auth, sleepy(1.0), limit=1)
    first = create(client, auth, definition_id)
    wait_for_run(first, (statuses.RUNNING,))
    second, third = create(client, auth, definition_id), create(client, auth, definition_id)
    wait_until(lambda: WorkflowRun.get_by_id(third).queued_reason == concurrency.QUEUED)
    shown = client.simulate_get(f"/v1/workflow-runs/{second}", headers=auth).json["data"]
    assert shown["status"] == "PENDING" and shown["queuedReason"] == "concurrency"

    # When the second is cancelled while it waits
    cancelled = client.simulate_post(f"/v1/workflow-runs/{second}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["data"]["status"] == "CANCELLED"
    assert cancelled.json["data"]["queuedReason"] is None

    # Then the slot is still the first's: the third waits for it
    time.sleep(0.2)
    assert WorkflowRun.get_by_id(third).status == statuses.PENDING
    assert slot_counts(definition_id) == {"": 1}
    # And once the first completes, the third runs
    assert wait_for_run(first).status == statuses.COMPLETED
    assert wait_for_run(third).status == statuses.COMPLETED
    assert slot_counts(definition_id) == {"": 0}
    assert_invariants([first, second, third])


def test_a_queued_run_whose_start_is_lost_is_started_by_the_clock(
    client, auth, worker, monkeypatch, request
):
    # Given a run holding the only slot and one queued behind it, and no clock
    definition_id = limited(client, auth, sleepy(0.3), limit=1)
    first = create(client, auth, definition_id)
    wait_for_run(first, (statuses.RUNNING,))
    second = create(client, auth, definition_id)
    wait_until(lambda: WorkflowRun.get_by_id(second).queued_reason == concurrency.QUEUED)

    # When the first completes and the start_run sent for the second is lost
    monkeypatch.setattr(concurrency, "_starters", [])
    assert wait_for_run(first).status == statuses.COMPLETED
    time.sleep(0.3)
    assert WorkflowRun.get_by_id(second).status == statuses.PENDING

    # Then the clock starts it (its timer came due with the freed slot), and it completes
    request.getfixturevalue("clock")
    assert wait_for_run(second, timeout=5).status == statuses.COMPLETED
    assert_invariants([first, second])


def test_a_failed_run_retried_takes_a_slot_again(client, auth, worker, clock):
    # Given a limit of one, and steps that nap for `input.seconds` and then fail once
    steps = [
        {"type": "task", "name": "nap", "handler": "sleepy", "config": {"seconds": "{{input.s}}"}},
        {
            "type": "task",
            "name": "flake",
            "handler": "flaky",
            "config": {"failures": 1},
            "retry": {"maxAttempts": 1},
        },
    ]
    definition_id = limited(client, auth, steps, limit=1)
    failed = create(client, auth, definition_id, s=0)
    assert wait_for_run(failed).status == statuses.FAILED
    assert slot_counts(definition_id) == {"": 0}

    # When another run holds the slot, retrying the failed one is refused: no slot is free
    holder = create(client, auth, definition_id, s=1.5)
    wait_for_run(holder, (statuses.RUNNING,))
    refused = client.simulate_post(f"/v1/workflow-runs/{failed}/retry", headers=auth)
    assert_error(refused, 409, "CONFLICT")
    assert "slots" in refused.json["error"]["message"]
    assert WorkflowRun.get_by_id(failed).status == statuses.FAILED

    # Then once the holder is final, the retry takes the slot and the run completes
    assert wait_for_run(holder).status == statuses.FAILED
    retried = client.simulate_post(f"/v1/workflow-runs/{failed}/retry", headers=auth)
    assert retried.status_code == 200, retried.json
    assert wait_for_run(failed).status == statuses.COMPLETED
    assert slot_counts(definition_id) == {"": 0}
    assert_invariants([failed, holder])


@pytest.mark.parametrize(
    ("concurrency_value", "fields"),
    [
        (3, ["concurrency"]),
        ([], ["concurrency"]),
        ({"limit": 0}, ["concurrency.limit"]),
        ({"limit": 10001}, ["concurrency.limit"]),
        ({"limit": 2.5}, ["concurrency.limit"]),
        ({}, ["concurrency.limit"]),
        ({"limit": 1, "key": 7}, ["concurrency.key"]),
        ({"limit": 1, "key": ""}, ["concurrency.key"]),
        ({"limit": 1, "keys": "{{input.a}}"}, ["concurrency.keys"]),
        ({"limit": "1", "per": 2}, ["concurrency.per", "concurrency.limit"]),
    ],
)
def test_a_bad_concurrency_is_refused_naming_its_field(client, auth, concurrency_value, fields):
    answer = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "bad", "version": "1", "steps": sleepy(0), "concurrency": concurrency_value},
    )
    assert_error(answer, 400, "VALIDATION_ERROR", *fields)


def test_a_run_whose_input_gives_the_key_no_value_is_refused(client, auth):
    definition_id = limited(client, auth, sleepy(0), limit=2, key="{{input.customerId}}")
    answer = post_run(client, auth, definition_id, input={"other": 1})
    assert_error(answer, 400, "VALIDATION_ERROR", "input")
    batch = client.simulate_post(
        "/v1/workflow-runs/batch",
        headers=auth,
        json={"runs": [{"definitionId": definition_id, "input": {}}]},
    )
    assert_error(batch, 400, "VALIDATION_ERROR", "runs[0].input")
    assert WorkflowRun.select().count() == 0


def test_the_limits_are_kept_with_a_short_redrive(client, auth, worker, clock, monkeypatch):
    # Given a clock that re-sends every queued run's start_run often (more racing starts)
    change_settings(monkeypatch, redrive_after_ms=100)
    definition_id = limited(client, auth, sleepy(0.05), limit=2)

    # When 20 runs are created at once
    with Sampler(definition_id) as sampler:
        with ThreadPoolExecutor(5) as pool:
            run_ids = list(pool.map(lambda n: create(client, auth, definition_id, n=n), range(20)))
        for run_id in run_ids:
            assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED

    # Then never more than two ran at once, and the counts agree
    assert sampler.most() <= 2 and sampler.violations == []
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})


def test_two_workers_racing_for_the_last_slot_never_both_take_it(client, auth):
    # Given a limit of one and two queued runs (no worker: the test drives the starts)
    definition_id = limited(client, auth, sleepy(0), limit=1)
    for _ in range(20):
        run_ids = [create(client, auth, definition_id) for _ in range(2)]
        handed: list = []
        barrier = threading.Barrier(2)

        # When two workers start both at the same moment (each its own run)
        def start(run_id: str, barrier: threading.Barrier = barrier, handed: list = handed) -> None:
            with db.connection_context():
                run = WorkflowRun.get_by_id(run_id)
                barrier.wait()
                change = RunChange(run)
                change.move(statuses.RUNNING, "WORKFLOW_STARTED")
                try:
                    change.commit()
                    handed.append(run_id)
                except concurrency.NoFreeSlot:
                    pass

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(start, run_ids))

        # Then exactly one took the slot, and the count says one
        assert len(handed) == 1
        assert slot_counts(definition_id) == {"": 1}
        for run_id in run_ids:
            client.simulate_post(f"/v1/workflow-runs/{run_id}/cancel", headers=auth)
        assert slot_counts(definition_id) == {"": 0}
    assert [v for v in check() if v.rule == "concurrency"] == []


def test_every_command_delivered_twice_takes_each_slot_once(
    client, auth, broker, worker, clock, monkeypatch
):
    # Given every command published twice (both copies through RabbitMQ)
    enqueue = broker.enqueue

    def enqueue_twice(message, *, delay=None):
        enqueue(message, delay=delay)
        return enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", enqueue_twice)
    definition_id = limited(client, auth, sleepy(0.05), limit=2)

    # When 12 runs race for two slots
    with Sampler(definition_id) as sampler:
        run_ids = [create(client, auth, definition_id, n=n) for n in range(12)]
        for run_id in run_ids:
            assert wait_for_run(run_id, timeout=30).status == statuses.COMPLETED

    # Then no more than two ran at once, and every slot was given back
    assert sampler.most() <= 2 and sampler.violations == []
    assert slot_counts(definition_id) == {"": 0}
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})


@pytest.mark.usefixtures("restarted_worker", "clock")
def test_a_worker_killed_while_its_run_holds_a_slot_leaks_no_slot(client, auth, tmp_path):
    # Given a limit of one, and runs whose step kills its worker process the first time
    steps = [{"type": "task", "name": "crash", "handler": "crash_once", "config": {}}]
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    steps[0]["config"]["dir"] = str(crashes)
    definition_id = limited(client, auth, steps, limit=1)

    # When three runs go through the one slot, each killing a worker while holding it
    with Sampler(definition_id) as sampler:
        run_ids = [create(client, auth, definition_id, n=n) for n in range(3)]
        for run_id in run_ids:
            assert wait_for_run(run_id, timeout=60).status == statuses.COMPLETED

    # Then each was carried on by a new worker, never two at once, and the slot is free
    assert len([p for p in crashes.iterdir() if p.name != "calls"]) == 3
    assert len(list(tmp_path.glob("worker*.log"))) >= 4
    assert sampler.most() == 1 and sampler.violations == []
    assert slot_counts(definition_id) == {"": 0}
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})


def test_a_run_inserted_without_its_key_takes_it_from_its_input_when_started(workspace, worker):
    # Given runs inserted without a key, as a schedule's fire inserts them
    definition = WorkflowDefinition.create(
        id=new_id("wfdef"),
        workspace=workspace[0],
        name="fired",
        version="1",
        steps=sleepy(0),
        concurrency={"limit": 1, "key": "{{input.customerId}}"},
    )
    keyed, keyless = insert_run(definition, {"customerId": "c1"}), insert_run(definition, {})

    # When they are started
    start_run.send(keyed.id)
    start_run.send(keyless.id)

    # Then each counted under its key: the input's, or "" when the input has none
    assert wait_for_run(keyed.id).status == statuses.COMPLETED
    assert wait_for_run(keyless.id).status == statuses.COMPLETED
    assert WorkflowRun.get_by_id(keyed.id).concurrency_key == "c1"
    assert WorkflowRun.get_by_id(keyless.id).concurrency_key == ""
    assert slot_counts(definition.id) == {"c1": 0, "": 0}
