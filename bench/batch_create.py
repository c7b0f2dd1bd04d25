"""How fast a running Stevora accepts runs: batch create against one create a call.

Not part of the test suite. Start the system (`stevora up`), stop its workers if you want the
API alone (the SPEC's figure is with workers idle), then:

    python bench/batch_create.py --runs 4000 --batch 1000 --concurrency 4

Phase 1 creates `--runs` runs with `POST /v1/workflow-runs` from `--concurrency` client
threads; phase 2 creates as many with `POST /v1/workflow-runs/batch`, `--batch` runs a call.
Each reports runs accepted per second (first request sent to last answer received) and the
p50 / p99 of one call.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import (
    BenchFailed,
    _check_reachable,
    _create_definition,
    api_key_of,
    api_parser,
    percentile,
)


def main() -> int:
    args = _parser().parse_args()
    base = args.url.rstrip("/")
    try:
        _check_reachable(base)
        api_key = api_key_of(args)
        session = requests.Session()
        session.headers["x-api-key"] = api_key
        definition_id = _create_definition(session, base, 1)
        one = [{"definitionId": definition_id} for _ in range(args.runs)]
        calls = [one[i : i + 1] for i in range(args.runs)]
        print(f"{args.runs} runs, one a call, {args.concurrency} client threads")
        _report(args.runs, *_send(base, api_key, "/v1/workflow-runs", calls, args.concurrency))
        batches = [one[i : i + args.batch] for i in range(0, args.runs, args.batch)]
        print(f"{args.runs} runs, {args.batch} a call, {args.concurrency} client threads")
        _report(
            args.runs, *_send(base, api_key, "/v1/workflow-runs/batch", batches, args.concurrency)
        )
    except BenchFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


def _send(base: str, api_key: str, path: str, calls: list[list[dict]], concurrency: int):
    """Send every call from `concurrency` threads; (seconds, each call's ms)."""
    pending = list(reversed(calls))
    lock = threading.Lock()
    durations: list[float] = []
    failures: list[str] = []

    def client() -> None:
        session = requests.Session()
        session.headers["x-api-key"] = api_key
        while True:
            with lock:
                if not pending or failures:
                    return
                runs = pending.pop()
            body = runs[0] if path.endswith("runs") else {"runs": runs}
            started = time.perf_counter()
            response = session.post(f"{base}{path}", json=body, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status_code != 201:
                    failures.append(f"{path} answered {response.status_code}: {response.text}")
                durations.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise BenchFailed(failures[0])
    return time.perf_counter() - started, durations


def _report(runs: int, seconds: float, durations: list[float]) -> None:
    print(f"  accepted: {runs / seconds:,.0f} runs/s ({seconds:.2f} s)")
    p50, p99 = percentile(durations, 50), percentile(durations, 99)
    print(f"  one call: p50 {p50:.1f} ms, p99 {p99:.1f} ms")


def _parser() -> argparse.ArgumentParser:
    parser = api_parser(__doc__)
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
