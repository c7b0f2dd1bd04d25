"""A concurrency-limited definition against the same runs kept at the limit by a client.

Not part of the test suite. Start the system with the test handlers loaded
(`STEVORA_HANDLERS=harness.handlers stevora up`), then:

    python bench/concurrency.py --runs 500 --limit 5 --step-seconds 0.02

Phase 1 creates `--runs` runs of a 3-step definition with `concurrency: {limit}` all at once
and lets Stevora queue them; phase 2 runs the same definition without a limit, a client
keeping `--limit` runs in flight (it creates the next as soon as one completes). Each prints
the wall time (first create to last completion). The queue should add no idle gaps: phase 1
within 25% of phase 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import (
    BenchFailed,
    _call,
    _check_reachable,
    _create_definition,
    _session,
    api_key_of,
    api_parser,
)


def main() -> int:
    args = _parser().parse_args()
    base = args.url.rstrip("/")
    try:
        _check_reachable(base)
        api_key = api_key_of(args)
        session = _session(api_key)
        steps = [
            {"type": "task", "name": f"step-{i}", "handler": "sleepy", "config": {"seconds": s}}
            for i, s in enumerate([args.step_seconds] * 3)
        ]
        queued = _limited_definition(session, base, steps, args.limit)
        print(f"{args.runs} runs of 3 steps, limit {args.limit}, queued by Stevora")
        print(f"  wall: {_queued(session, base, queued, args.runs):.2f} s")
        plain = _create_definition(session, base, steps)
        print(f"{args.runs} runs of 3 steps, {args.limit} at a time, kept so by a client")
        print(f"  wall: {_client_driven(session, base, plain, args.runs, args.limit):.2f} s")
    except BenchFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


def _limited_definition(session, base: str, steps: list[dict], limit: int) -> str:
    body = {
        "name": "bench-limited",
        "version": str(time.time_ns()),
        "concurrency": {"limit": limit},
        "steps": steps,
    }
    return _call(session, "POST", f"{base}/v1/workflow-definitions", json=body)["data"]["id"]


def _queued(session, base: str, definition_id: str, runs: int) -> float:
    started = time.monotonic()
    body = {"runs": [{"definitionId": definition_id} for _ in range(runs)]}
    ids = [
        run["id"]
        for run in _call(session, "POST", f"{base}/v1/workflow-runs/batch", json=body)["data"]
    ]
    for run_id in ids:
        _until_final(session, base, run_id)
    return time.monotonic() - started


def _client_driven(session, base: str, definition_id: str, runs: int, limit: int) -> float:
    started = time.monotonic()
    in_flight: list[str] = []
    created = 0
    while created < runs or in_flight:
        while created < runs and len(in_flight) < limit:
            body = {"definitionId": definition_id}
            in_flight.append(
                _call(session, "POST", f"{base}/v1/workflow-runs", json=body)["data"]["id"]
            )
            created += 1
        time.sleep(0.005)
        in_flight = [run_id for run_id in in_flight if not _final(session, base, run_id)]
    return time.monotonic() - started


def _final(session, base: str, run_id: str) -> bool:
    status = _call(session, "GET", f"{base}/v1/workflow-runs/{run_id}")["data"]["status"]
    if status in ("FAILED", "CANCELLED"):
        raise BenchFailed(f"run {run_id} is {status}")
    return status == "COMPLETED"


def _until_final(session, base: str, run_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not _final(session, base, run_id):
        if time.monotonic() > deadline:
            raise BenchFailed(f"run {run_id} did not complete within {timeout} s")
        time.sleep(0.02)


def _parser() -> argparse.ArgumentParser:
    parser = api_parser(__doc__)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--step-seconds", type=float, default=0.02)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
