"""Faults under load, briefly: a worker SIGKILLed, RabbitMQ stopped, PostgreSQL restarted, the
clock killed then run twice, every command published twice.

Each test drives a few runs of a mixed definition (tasks, a condition, a wait, a signal
published straight to RabbitMQ, a slow task, a retried one) through real gunicorn, dramatiq
and clock processes while the fault happens, then checks the database with
`harness.invariants`: every run the API accepted completed, with the state its input implies,
no step advanced twice. `bench/faults.py` runs the same faults with many runs and prints the
numbers. The tests that stop RabbitMQ or restart PostgreSQL always start them again.
"""

from __future__ import annotations

import os

import pytest

import actors
from harness import fault_load, fault_runs
from harness.processes import System, worker_command
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL

#: A few runs, created over this many seconds, so each fault lands in the middle of them.
RUNS = 12
SPREAD_SECONDS = 1.5
#: The wait step's duration and the slow task's.
WAIT_MS = 300
WORK_SECONDS = 0.1
#: How long a process stays dead or a service down.
OUTAGE_SECONDS = 1.0
#: How long the runs may take to finish after the fault; each test is bounded by it.
SETTLE_SECONDS = 60
WORKER = (1, 4)


@pytest.fixture
def system(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "8",
        # A command lost with the broker is sent again by the clock after a second.
        "STEVORA_REDRIVE_AFTER_MS": "1000",
    }
    system = System(tmp_path, env, worker=worker_command(*WORKER))
    system.start_all()
    yield system
    system.kill_all()


@pytest.fixture
def load(system, workspace):
    return fault_load.Load(
        system.url,
        workspace[1],
        TEST_BROKER_URL,
        wait_ms=WAIT_MS,
        work_seconds=WORK_SECONDS,
        concurrency=4,
    )


def _run(name: str, system: System, load: fault_load.Load, breaker=None) -> fault_runs.Outcome:
    outcome = fault_runs.run_fault(
        name,
        system,
        load,
        runs=RUNS,
        spread=SPREAD_SECONDS,
        breaker=breaker,
        outage_seconds=OUTAGE_SECONDS,
        settle_seconds=SETTLE_SECONDS,
    )
    shown = "\n".join(map(str, outcome.violations[:20]))
    assert outcome.ok, f"{outcome.row()}\n{outcome.notes}\n{shown}\n{system.logs()}"
    assert outcome.completed == outcome.attempted >= RUNS
    return outcome


def test_a_worker_killed_under_load_loses_no_run_and_doubles_none(system, load):
    _run("worker SIGKILL", system, load, fault_runs.kill_worker)


def test_rabbitmq_stopped_under_load_the_api_accepts_runs_and_they_complete_once_it_is_back(
    system, load
):
    try:
        outcome = _run("RabbitMQ stop/start", system, load, fault_runs.broker_outage)
    finally:
        fault_runs.restore_services()
        del actors.broker.connection  # this process's, dead since the broker stopped
    # Every create while it was down was answered 201 at once, and its run completed since
    assert outcome.measures["extra creates"] == [201] * fault_runs.OUTAGE_CREATES
    accepted, tried = outcome.measures["accepted while down"]
    assert accepted == tried >= fault_runs.OUTAGE_CREATES


def test_postgresql_restarted_under_load_loses_no_run_and_doubles_none(system, load):
    try:
        _run("PostgreSQL restart", system, load, fault_runs.postgres_restart)
    finally:
        fault_runs.restore_services()


def test_the_clock_killed_then_run_twice_fires_each_timer_once(system, load):
    _run("clock SIGKILL, two clocks", system, load, fault_runs.two_clocks)


def test_every_command_published_twice_advances_no_run_twice(system, load):
    fault_runs.restart_with(system, fault_runs.publishing_twice(*WORKER))
    load.copies = 2  # every signal too
    _run("every command twice", system, load)


def test_a_hostile_workspace_cannot_wedge_its_runs_or_hurt_the_others(system, load):
    outcome = _run("hostile workspace", system, load, fault_runs.hostile_workspace)
    assert outcome.measures["hostile_unfinished"] == 0, outcome.notes
    assert set(outcome.measures["refused"]) <= {400, 413}, outcome.notes
    assert outcome.measures["peak"] < 1024, outcome.notes  # MB, every worker process together
