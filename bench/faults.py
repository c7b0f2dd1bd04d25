"""Faults under load, with numbers: runs lost, runs doubled, time to recover.

Not part of the test suite (`tests/test_faults.py` runs each fault briefly). From a checkout
with `pip install -e '.[test]'`, on the machine that runs PostgreSQL and RabbitMQ:

    python bench/faults.py --runs 200

It starts its own web (gunicorn), worker (dramatiq) and clock processes on a database and a
RabbitMQ vhost of its own (created when missing), and creates `--runs` runs of a mixed
definition (tasks, a condition, a 1 s wait, a signal published straight to RabbitMQ, a slow
task, a retried one) over HTTP for each of these, in turn:

- baseline: nothing breaks;
- worker SIGKILL: the worker is killed a third of the way in, a new one started later;
- RabbitMQ stop/start: `rabbitmqctl stop_app`, later `start_app`; the API must accept runs
  meanwhile;
- PostgreSQL restart: `pg_ctlcluster ... restart`; refused creates are retried by the clients
  with their idempotency key;
- clock SIGKILL, two clocks: the clock is killed, then two are started;
- every command twice: web, worker and clock publish every message twice, and every signal is
  published twice;
- hostile workspace: another workspace sends the worst definitions, inputs and handler results
  it can (`harness/hostile.py`); its runs must all end, the bad bodies be refused, and the
  workers' memory stay bounded.

After each it checks the runs (`harness.invariants`, and each final state against its input)
and prints: runs attempted, completed, lost (accepted but not completed: must be 0), doubled
(a step completed or an attempt started twice, or a wrong final state: must be 0), and the
seconds from the fault's end (the last create, without one) until every run was final. It
exits non-zero on any lost or doubled run or broken invariant. RabbitMQ and PostgreSQL are
started again at the end whatever happens. Stopping RabbitMQ and restarting PostgreSQL
disturb everything else on this machine that uses them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent

FAULTS = ("baseline", "worker", "rabbitmq", "postgresql", "clock", "twice", "hostile")


def main() -> int:
    args = _parser().parse_args()
    broker_url = f"amqp://guest:guest@{args.broker_host}:5672/{args.vhost}"
    # The processes this starts read their settings from the environment, and so does this one.
    os.environ.update(
        DATABASE_URL=args.database_url, BROKER_URL=broker_url, STEVORA_HANDLERS="harness.handlers"
    )
    sys.path.insert(0, str(REPO_ROOT))
    from app.local_services import ensure_running
    from harness import fault_load, fault_runs
    from harness.invariants import check, summary
    from harness.processes import System, worker_command
    from models import statuses
    from models.config import Settings, configure
    from models.db import bind_database, db
    from models.keys import create_workspace
    from models.migrate import create_database, migrate

    bind_database(configure(Settings.from_env()))
    database = urlparse(args.database_url)
    ensure_running(database.hostname, database.port or 5432, args.broker_host, 5672)
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", args.vhost], check=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", args.vhost, "guest", ".*", ".*", ".*"],
        check=True,
    )
    create_database(args.database_url)
    migrate()
    with db.connection_context():
        _, _, api_key = create_workspace("Faults", f"faults-{uuid.uuid4().hex[:12]}")

    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="stevora-faults-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "WEB_CONCURRENCY": str(args.web_processes),
        "WEB_THREADS": "8",
        "STEVORA_REDRIVE_AFTER_MS": str(args.redrive_ms),
    }
    worker = (args.worker_processes, args.worker_threads)
    system = System(log_dir, env, worker=worker_command(*worker))
    normal = dict(system.commands)
    breakers = {
        "worker": ("worker SIGKILL", fault_runs.kill_worker),
        "rabbitmq": ("RabbitMQ stop/start", fault_runs.broker_outage),
        "postgresql": ("PostgreSQL restart", fault_runs.postgres_restart),
        "clock": ("clock SIGKILL, two clocks", fault_runs.two_clocks),
        "hostile": ("hostile workspace", fault_runs.hostile_workspace),
    }
    outcomes = []
    print(
        f"{args.runs} runs per fault over {args.spread:g} s, outages of {args.outage:g} s, "
        f"redrive after {args.redrive_ms} ms; logs in {log_dir}\n"
    )
    print(fault_runs.HEADER, flush=True)
    try:
        system.start_all()
        load = fault_load.Load(
            system.url,
            api_key,
            broker_url,
            wait_ms=1000,
            work_seconds=0.2,
            concurrency=args.concurrency,
        )
        for fault in args.faults:
            name, breaker = breakers.get(fault, (fault, None))
            if fault == "twice":
                fault_runs.restart_with(system, fault_runs.publishing_twice(*worker))
                load.copies, name = 2, "every command twice"
            outcome = fault_runs.run_fault(
                name,
                system,
                load,
                runs=args.runs,
                spread=args.spread,
                breaker=breaker,
                outage_seconds=args.outage,
                settle_seconds=args.settle,
            )
            outcomes.append((outcome, list(load.accepted)))
            print(outcome.row(), flush=True)
            if fault == "twice":
                fault_runs.restart_with(system, normal)
                load.copies = 1
    finally:
        fault_runs.restore_services()
        system.kill_all()

    every_run = [run_id for _, ids in outcomes for run_id in ids]
    idle = datetime.timedelta(seconds=10)
    expect_completed = {statuses.COMPLETED}
    final = fault_load.read(
        lambda: check(every_run, expect=lambda run: expect_completed, overdue_after=idle)
    )
    print(f"\nall {len(every_run)} runs checked again, the system idle: {summary(final) or 'ok'}")
    for outcome, _ in outcomes:
        for note in outcome.notes:
            print(f"{outcome.fault}: {note}")
        for violation in outcome.violations[:10]:
            print(f"{outcome.fault}: {violation}")
    failed = [outcome.fault for outcome, _ in outcomes if not outcome.ok]
    if failed or final:
        print(f"\nFAILED: {', '.join(failed) or 'the final check'} (logs in {log_dir})")
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per fault (200)")
    parser.add_argument(
        "--spread", type=float, default=10.0, help="seconds over which they are created (10)"
    )
    parser.add_argument(
        "--outage", type=float, default=5.0, help="seconds a process or service stays down (5)"
    )
    parser.add_argument(
        "--settle", type=float, default=300.0, help="longest wait for the runs to finish (300)"
    )
    parser.add_argument(
        "--faults",
        nargs="+",
        choices=FAULTS,
        default=list(FAULTS),
        help="which to run, in this order (all)",
    )
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/stevora_faults",
        help="its database, created when missing (stevora_faults)",
    )
    parser.add_argument(
        "--vhost", default="stevora_faults", help="its RabbitMQ vhost, created when missing"
    )
    parser.add_argument("--broker-host", default="127.0.0.1")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (8)")
    parser.add_argument(
        "--redrive-ms",
        type=int,
        default=5000,
        help="STEVORA_REDRIVE_AFTER_MS of its processes: a lost command is sent again after it",
    )
    parser.add_argument("--log-dir", help="where the processes' logs go (a new temporary one)")
    return parser


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"\n{time.monotonic() - started:.0f} s")
    sys.exit(code)
