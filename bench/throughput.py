"""Throughput and latency of a running Stevora, measured through its HTTP API.

Not part of the test suite. Start the system in another terminal (`stevora up`), then:

    python bench/throughput.py --runs 500 --steps 10 --concurrency 8

Phase 1 starts `--runs` runs of a `--steps`-step `noop` definition from `--concurrency` client
threads and reports the create-run API rate, runs/s and steps/s (from the first run's
createdAt to the last run's completedAt) and create-to-completed latency. Phase 2 does the
same with one step. Phase 3 starts `--latency-runs` 1-step runs one at a time, for latency
without load. Phase 4 times signal round trips (SIGNAL_RECEIVED to the next step
completed) and phase 5 the lateness of wait steps (due time to resumed). Timestamps have millisecond
resolution, so latencies are exact to about 1 ms.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass

import requests

#: How long one phase may wait for its runs to complete before giving up, in seconds.
COMPLETION_TIMEOUT = 300

#: Largest page the runs list serves (SPEC section 1).
PAGE_SIZE = 100


class BenchFailed(Exception):
    """The benchmark cannot go on; the message says why."""


@dataclass
class PhaseResult:
    runs: int
    steps: int
    create_rate: float
    wall_seconds: float
    latencies_ms: list[float]


def main() -> int:
    args = _parser().parse_args()
    base = args.url.rstrip("/")
    try:
        _check_reachable(base)
        api_key = api_key_of(args)
        phases = [args.steps] if args.steps == 1 else [args.steps, 1]
        for steps in phases:
            print(f"\n{args.runs} runs of {steps} noop step(s), {args.concurrency} client threads")
            result = run_phase(base, api_key, args.runs, steps, args.concurrency)
            _report(result)
        if args.latency_runs:
            print(f"\n{args.latency_runs} runs of 1 noop step, one at a time (unloaded latency)")
            _report_latency(
                run_one_at_a_time(base, api_key, args.latency_runs), "create->completed latency"
            )
        if args.signal_runs:
            print(f"\n{args.signal_runs} signal round trips (resume -> next step completed)")
            _report_latency(
                signal_round_trips(base, api_key, args.signal_runs), "signal->next step completed"
            )
        if args.wait_runs:
            print(f"\n{args.wait_runs} waits of {args.wait_ms} ms (due -> resumed, the lateness)")
            _report_latency(
                wait_lateness(base, api_key, args.wait_runs, args.wait_ms), "wait lateness"
            )
    except BenchFailed as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        return 1
    return 0


def run_phase(base: str, api_key: str, runs: int, steps: int, concurrency: int) -> PhaseResult:
    """Create a definition, start `runs` runs of it, wait for them, and measure."""
    session = _session(api_key)
    definition_id = _create_definition(session, base, steps)
    started = time.monotonic()
    _create_runs(base, api_key, definition_id, runs, concurrency)
    create_rate = runs / (time.monotonic() - started)
    print(f"\rcreated {runs}/{runs} runs at {create_rate:.0f} req/s")
    completed = _wait_completed(session, base, definition_id, runs)
    created_at = [_timestamp(run["createdAt"]) for run in completed]
    completed_at = [_timestamp(run["completedAt"]) for run in completed]
    return PhaseResult(
        runs=runs,
        steps=steps,
        create_rate=create_rate,
        wall_seconds=(max(completed_at) - min(created_at)).total_seconds(),
        latencies_ms=[
            (done - created).total_seconds() * 1000
            for created, done in zip(created_at, completed_at, strict=True)
        ],
    )


def run_one_at_a_time(base: str, api_key: str, runs: int) -> list[float]:
    """Start 1-step runs one after another, each once the last completed; their latencies."""
    session = _session(api_key)
    definition_id = _create_definition(session, base, steps=1)
    latencies = []
    for index in range(runs):
        run = _call(
            session, "POST", f"{base}/v1/workflow-runs", json={"definitionId": definition_id}
        )["data"]
        deadline = time.monotonic() + 30
        while run["status"] != "COMPLETED":
            if run["status"] == "FAILED" or time.monotonic() > deadline:
                raise BenchFailed(f"run {run['id']} is {run['status']}, not COMPLETED")
            time.sleep(0.02)  # gently: polling load would add to the latency measured
            run = _call(session, "GET", f"{base}/v1/workflow-runs/{run['id']}")["data"]
        created, done = _timestamp(run["createdAt"]), _timestamp(run["completedAt"])
        latencies.append((done - created).total_seconds() * 1000)
        print(f"\rcompleted {index + 1}/{runs} runs", end="", flush=True)
    print()
    return latencies


def signal_round_trips(base: str, api_key: str, runs: int) -> list[float]:
    """Runs that wait for a signal, then a noop: from SIGNAL_RECEIVED to the noop completed."""
    session = _session(api_key)
    steps = [
        {"type": "external_event", "name": "wait-for-go", "signalType": "go"},
        {"type": "task", "name": "after", "handler": "noop"},
    ]
    definition_id = _create_definition(session, base, steps=steps)
    latencies = []
    for index in range(runs):
        run_id = _call(
            session, "POST", f"{base}/v1/workflow-runs", json={"definitionId": definition_id}
        )["data"]["id"]
        _poll_status(session, base, run_id, "WAITING")
        _call(
            session, "POST", f"{base}/v1/workflow-runs/{run_id}/resume", json={"signalType": "go"}
        )
        run = _poll_status(session, base, run_id, "COMPLETED")
        events = _call(session, "GET", f"{base}/v1/workflow-runs/{run_id}/events")["data"]
        received = next(e for e in events if e["eventType"] == "SIGNAL_RECEIVED")
        done = _timestamp(run["completedAt"]) - _timestamp(received["createdAt"])
        latencies.append(done.total_seconds() * 1000)
        print(f"\rcompleted {index + 1}/{runs} round trips", end="", flush=True)
    print()
    return latencies


def wait_lateness(base: str, api_key: str, runs: int, wait_ms: int) -> list[float]:
    """Runs of one wait step, all started at once: how late each wait step was resumed."""
    session = _session(api_key)
    definition_id = _create_definition(
        session, base, steps=[{"type": "wait", "name": "pause", "durationMs": wait_ms}]
    )
    run_ids = [
        _call(session, "POST", f"{base}/v1/workflow-runs", json={"definitionId": definition_id})[
            "data"
        ]["id"]
        for _ in range(runs)
    ]
    latencies = []
    for index, run_id in enumerate(run_ids):
        run = _poll_status(session, base, run_id, "COMPLETED")
        step = run["stepRuns"][0]
        due = _timestamp(step["startedAt"]) + datetime.timedelta(milliseconds=wait_ms)
        latencies.append((_timestamp(step["completedAt"]) - due).total_seconds() * 1000)
        print(f"\rcompleted {index + 1}/{runs} waits", end="", flush=True)
    print()
    return latencies


def _poll_status(session: requests.Session, base: str, run_id: str, status: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        run = _call(session, "GET", f"{base}/v1/workflow-runs/{run_id}")["data"]
        if run["status"] == status:
            return run
        if run["status"] in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
            raise BenchFailed(f"run {run_id} is {run['status']}, not {status}")
        time.sleep(0.02)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile `p` (0..100) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _check_reachable(base: str) -> None:
    try:
        requests.get(f"{base}/health", timeout=5)
    except requests.RequestException as exc:
        raise BenchFailed(
            f"the Stevora API is unreachable at {base} ({type(exc).__name__}); "
            "start it with `stevora up`, or pass --url"
        ) from None


def _new_workspace_key() -> str:
    """A key of a fresh workspace, made directly in the database the system uses."""
    from models.config import current
    from models.db import bind_database, db
    from models.keys import create_workspace

    bind_database(current())

    slug = f"bench-{int(time.time())}-{secrets.token_hex(3)}"
    with db.connection_context():
        workspace, _, raw_key = create_workspace("Benchmark", slug)
    print(f"created workspace {workspace.id} ({slug}); reuse it with --api-key {raw_key}")
    return raw_key


def _session(api_key: str) -> requests.Session:
    session = requests.Session()
    session.headers["x-api-key"] = api_key
    return session


def _call(session: requests.Session, method: str, url: str, **kwargs) -> dict:
    try:
        response = session.request(method, url, timeout=30, **kwargs)
    except requests.RequestException as exc:
        raise BenchFailed(f"{method} {url} failed: {exc}") from None
    if response.status_code >= 300:
        raise BenchFailed(f"{method} {url} answered {response.status_code}: {response.text}")
    return response.json()


def _create_definition(session: requests.Session, base: str, steps: int | list[dict]) -> str:
    if isinstance(steps, int):
        steps = [{"type": "task", "name": f"step-{i}", "handler": "noop"} for i in range(steps)]
    body = {
        "name": f"bench-{len(steps)}-steps",
        "version": f"{int(time.time())}-{secrets.token_hex(3)}",
        "steps": steps,
    }
    return _call(session, "POST", f"{base}/v1/workflow-definitions", json=body)["data"]["id"]


def _create_runs(base: str, api_key: str, definition_id: str, runs: int, threads: int) -> None:
    """POST `runs` runs from `threads` threads, each with its own session."""
    batch = secrets.token_hex(4)
    remaining = iter(range(runs))
    lock = threading.Lock()
    created = 0
    errors: list[BenchFailed] = []

    def client() -> None:
        nonlocal created
        session = _session(api_key)
        while not errors:
            with lock:
                index = next(remaining, None)
            if index is None:
                return
            body = {
                "definitionId": definition_id,
                "input": {"index": index},
                "idempotencyKey": f"bench-{batch}-{index}",
            }
            try:
                _call(session, "POST", f"{base}/v1/workflow-runs", json=body)
            except BenchFailed as exc:
                errors.append(exc)
                return
            with lock:
                created += 1
                if created % 25 == 0:
                    print(f"\rcreated {created}/{runs} runs", end="", flush=True)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def _wait_completed(
    session: requests.Session, base: str, definition_id: str, runs: int
) -> list[dict]:
    """Poll the runs list until all `runs` runs completed; return them."""
    deadline = time.monotonic() + COMPLETION_TIMEOUT
    while True:
        completed = _count(session, base, definition_id, "COMPLETED")
        failed = _count(session, base, definition_id, "FAILED")
        print(f"\rcompleted {completed}/{runs} runs", end="", flush=True)
        if failed:
            raise BenchFailed(f"{failed} run(s) FAILED; see GET /v1/workflow-runs?status=FAILED")
        if completed >= runs:
            print()
            return _all_completed(session, base, definition_id)
        if time.monotonic() > deadline:
            raise BenchFailed(f"only {completed}/{runs} runs completed in {COMPLETION_TIMEOUT}s")
        time.sleep(0.2)


def _count(session: requests.Session, base: str, definition_id: str, status: str) -> int:
    params = {"definitionId": definition_id, "status": status, "pageSize": 1}
    return _call(session, "GET", f"{base}/v1/workflow-runs", params=params)["meta"]["total"]


def _all_completed(session: requests.Session, base: str, definition_id: str) -> list[dict]:
    params = {"definitionId": definition_id, "status": "COMPLETED", "pageSize": PAGE_SIZE}
    found, page, pages = [], 1, 1
    while page <= pages:
        body = _call(session, "GET", f"{base}/v1/workflow-runs", params={**params, "page": page})
        found.extend(body["data"])
        pages = body["meta"]["totalPages"]
        page += 1
    return found


def _timestamp(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def _report(result: PhaseResult) -> None:
    wall = max(result.wall_seconds, 0.001)
    latencies = result.latencies_ms
    print(f"  create-run API   {result.create_rate:8.0f} req/s")
    print(f"  runs completed   {result.runs / wall:8.0f} runs/s   ({wall:.2f} s wall)")
    print(f"  steps executed   {result.runs * result.steps / wall:8.0f} steps/s")
    print(
        f"  create->completed latency  p50 {percentile(latencies, 50):.0f} ms"
        f"   p99 {percentile(latencies, 99):.0f} ms"
    )


def _report_latency(latencies: list[float], label: str) -> None:
    print(
        f"  {label}  p50 {percentile(latencies, 50):.0f} ms"
        f"   p99 {percentile(latencies, 99):.0f} ms"
    )


def api_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every benchmark of a running API takes: where it is, and a key."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument(
        "--api-key", help="an API key (default: env STEVORA_API_KEY, else a new workspace)"
    )
    return parser


def api_key_of(args: argparse.Namespace) -> str:
    """The key `--api-key` gives, else `STEVORA_API_KEY`'s, else a new workspace's."""
    return args.api_key or os.environ.get("STEVORA_API_KEY") or _new_workspace_key()


def _parser() -> argparse.ArgumentParser:
    parser = api_parser(__doc__)
    parser.add_argument("--runs", type=_positive, default=500, help="runs per phase")
    parser.add_argument("--steps", type=_positive, default=10, help="noop steps per run")
    parser.add_argument("--concurrency", type=_positive, default=8, help="client threads")
    parser.add_argument(
        "--latency-runs",
        type=int,
        default=100,
        help="1-step runs started one at a time, for latency without load (0 skips)",
    )
    parser.add_argument(
        "--signal-runs", type=int, default=50, help="signal round trips to time (0 skips)"
    )
    parser.add_argument("--wait-runs", type=int, default=50, help="wait steps to time (0 skips)")
    parser.add_argument("--wait-ms", type=_positive, default=500, help="each wait's duration")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


if __name__ == "__main__":
    sys.exit(main())
