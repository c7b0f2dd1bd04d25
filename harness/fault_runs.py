"""Fault runs: runs of a mixed definition over HTTP while something breaks, then the invariant
checker (`harness.invariants`) on what the database holds.

`tests/test_faults.py` runs each fault with a few runs; `bench/faults.py` runs them with many
and prints the numbers. Both start the real processes (`harness.processes.System`) on a database
and a vhost of their own. A run is *lost* when the API accepted it and it did not complete,
*doubled* when a step of it completed (or an attempt started) twice, or its final state is
not the one its input implies.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.local_services import ensure_postgres, ensure_rabbitmq
from harness.fault_load import Load, expected_state, read
from harness.invariants import Violation, check
from harness.processes import WEB, System, worker_command
from models import statuses
from models.db import db

#: Runs created one after the other while RabbitMQ is down, besides the load's.
OUTAGE_CREATES = 5


# The services: RabbitMQ's app stopped and started, PostgreSQL restarted, both always restored.


def stop_broker() -> None:
    _run("rabbitmqctl", "-q", "stop_app")


def start_broker() -> None:
    _run("rabbitmqctl", "-q", "start_app")
    _run("rabbitmqctl", "-q", "await_startup")


def restart_postgres() -> None:
    """Restart the local cluster, as `app.local_services` finds it; returns once it is up."""
    versions = sorted(
        (os.path.basename(path) for path in glob.glob("/etc/postgresql/*")),
        key=lambda version: [int(part) for part in version.split(".") if part.isdigit()],
    )
    _run("pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart")


def restore_services() -> None:
    """Start RabbitMQ and PostgreSQL again if a fault left either stopped."""
    ensure_rabbitmq()
    ensure_postgres()


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


# The fault runs.


@dataclass
class Outcome:
    """The numbers of one fault run."""

    fault: str
    attempted: int
    accepted: int
    completed: int
    lost: int
    doubled: int
    #: From the fault's end (the last create, without one) until every run was final; None
    #: when they were not within the deadline.
    recovery_seconds: float | None
    violations: list[Violation]
    notes: list[str] = field(default_factory=list)
    measures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.violations
            and self.lost == 0
            and self.doubled == 0
            and self.accepted == self.attempted
            and self.recovery_seconds is not None
        )

    def row(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f}"
        return (
            f"{self.fault:<24} {self.attempted:>9} {self.completed:>9} {self.lost:>5} "
            f"{self.doubled:>7} {recovery:>10} {len(self.violations):>10}"
        )


HEADER = (
    f"{'fault':<24} {'attempted':>9} {'completed':>9} {'lost':>5} {'doubled':>7} "
    f"{'recover s':>10} {'violations':>10}"
)


@dataclass
class Fault:
    """What a fault sees: the processes, the load, and where to leave what it measured."""

    system: System
    load: Load
    notes: list[str]
    measures: dict[str, Any]
    #: How long a process stays dead, or a service down.
    outage_seconds: float


#: A fault: breaks something while the runs are being created; returns when it was repaired.
Breaker = Callable[[Fault], float]


def kill_worker(fault: Fault) -> float:
    """SIGKILL the worker a third of the way in; start a new one after the outage."""
    fault.load.at_fraction(1 / 3)
    fault.system.kill("worker")
    time.sleep(fault.outage_seconds)
    fault.system.start("worker")
    return time.monotonic()


def broker_outage(fault: Fault) -> float:
    """Stop RabbitMQ's app a third of the way in; start it after the outage. The API must go
    on accepting runs meanwhile."""
    fault.load.at_fraction(1 / 3)
    stop_broker()
    try:
        down = time.monotonic()
        # Besides the load's own, a few creates certainly while it is down
        extra = fault.load.create_now("while-rabbitmq-down", OUTAGE_CREATES)
        time.sleep(max(0.0, down + fault.outage_seconds - time.monotonic()))
        during = fault.load.answers_between(down, time.monotonic())
    finally:
        start_broker()
    accepted = sum(status in (200, 201) for status in during)
    fault.measures["accepted while down"] = (accepted, len(during))
    fault.measures["extra creates"] = extra
    fault.notes.append(f"creates while RabbitMQ was down: {accepted}/{len(during)} accepted")
    return time.monotonic()


def postgres_restart(fault: Fault) -> float:
    """Restart PostgreSQL a third of the way in; creates refused meanwhile are retried."""
    fault.load.at_fraction(1 / 3)
    began = time.monotonic()
    restart_postgres()
    back = time.monotonic()
    refused = [s for s in fault.load.answers_between(began, back) if s not in (200, 201)]
    fault.notes.append(
        f"PostgreSQL restarted in {back - began:.1f} s; {len(refused)} create(s) refused"
        f" meanwhile ({', '.join(sorted(set(map(str, refused)))) or 'none'}), retried"
    )
    return back


def two_clocks(fault: Fault) -> float:
    """SIGKILL the clock a third of the way in; after the outage, start two clocks."""
    fault.load.at_fraction(1 / 3)
    fault.system.kill("clock")
    time.sleep(fault.outage_seconds)
    fault.system.start("clock")
    fault.system.start("clock")
    return time.monotonic()


def hostile_workspace(fault: Fault) -> float:
    """Another workspace sends the worst it can (`harness.hostile`) a third of the way in: the
    load goes on completing, every hostile run ends, and the workers' memory stays bounded."""
    from harness import hostile
    from models.keys import create_workspace

    fault.load.at_fraction(1 / 3)
    slug = f"hostile-{time.monotonic_ns()}"
    _, _, key = read(lambda: create_workspace("Hostile", slug))
    workers = fault.system.live("worker")
    before = sum(hostile.rss_mb(process.pid) for process in workers)
    run_ids, refused = hostile.send(fault.system.url, key)
    peak = before
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        peak = max(peak, sum(hostile.rss_mb(process.pid) for process in workers))
        rows = read(
            lambda: db.execute_sql(
                "SELECT status, error->>'code' FROM workflow_run WHERE id = ANY(%s)", (run_ids,)
            ).fetchall()
        )
        if all(status in statuses.FINAL_RUN_STATUSES for status, _ in rows):
            break
        time.sleep(0.2)
    codes = sorted({f"{status}:{code}" for status, code in rows})
    unfinished = sum(status not in statuses.FINAL_RUN_STATUSES for status, _ in rows)
    fault.measures.update(
        hostile_runs=len(run_ids), hostile_unfinished=unfinished, refused=refused, peak=peak
    )
    fault.notes.append(
        f"{len(run_ids)} hostile runs, {unfinished} not final; ended as {', '.join(codes)}; "
        f"bad bodies answered {sorted(set(refused))}; worker RSS {before:.0f} MB before, "
        f"{peak:.0f} MB at most"
    )
    return time.monotonic()


def run_fault(
    name: str,
    system: System,
    load: Load,
    *,
    runs: int,
    spread: float,
    breaker: Breaker | None = None,
    outage_seconds: float = 1.0,
    settle_seconds: float = 120.0,
) -> Outcome:
    """Create `runs` runs over `spread` seconds while `breaker` breaks something, wait until
    they are all final, and check them."""
    load.reset()
    notes: list[str] = []
    measures: dict[str, Any] = {}
    load.start(name.replace(" ", "-"), runs, spread)
    repaired = None
    if breaker is not None:
        repaired = breaker(Fault(system, load, notes, measures, outage_seconds))
    load.wait_created()
    repaired = repaired or time.monotonic()
    done = load.wait_final(settle_seconds)
    ids = list(load.accepted)
    violations = read(lambda: check(ids, expect=lambda run: {statuses.COMPLETED}))
    states = read(
        lambda: dict(
            db.execute_sql(
                "SELECT id, state FROM workflow_run WHERE id = ANY(%s) AND status = %s",
                (ids, statuses.COMPLETED),
            ).fetchall()
        )
    )
    for run_id, state in states.items():
        wanted = expected_state(load.accepted[run_id], load.work_seconds)
        if state != wanted:
            violations.append(Violation(run_id, "state", f"state {state}, expected {wanted}"))
    doubled = {v.run_id for v in violations if v.rule in ("doubled", "state")}
    notes += [f"not accepted: {refused}" for refused in load.refused]
    return Outcome(
        fault=name,
        attempted=load.attempted,
        accepted=len(ids),
        completed=len(states),
        lost=len(ids) - len(states),
        doubled=len(doubled),
        recovery_seconds=None if done is None else max(0.0, done - repaired),
        violations=violations,
        notes=notes,
        measures=measures,
    )


def restart_with(system: System, commands: dict[str, tuple]) -> None:
    """Replace the processes with ones started from `commands` (the others as they were)."""
    system.kill_all()
    system.commands.update(commands)
    system.start_all()


def publishing_twice(worker_processes: int, worker_threads: int) -> dict[str, tuple]:
    """The commands of processes that publish every message twice (`harness.publish_twice`)."""
    return {
        "web": (*WEB[:-1], "harness.publish_twice:wsgi()"),
        "worker": worker_command(worker_processes, worker_threads, ("harness.publish_twice",)),
        "clock": ("-c", "import harness.publish_twice; from actors import clock; clock.main()"),
    }
