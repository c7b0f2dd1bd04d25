"""What the rate limit costs a request: p50/p99 of a cheap authenticated GET, limit on and off.

Not part of the test suite. From a checkout with `pip install -e '.[test]'`, with PostgreSQL
running:

    python bench/rate_limit.py                  # in-process, 10,000 requests per case
    python bench/rate_limit.py --http           # and through gunicorn over HTTP

It creates (when missing) and migrates a database of its own (`stevora_bench` by default) and a
workspace in it, then times `GET /v1/workspaces/current` with its key:

- in-process, through `falcon.testing.TestClient` (the whole middleware stack, the key lookup and
  the bucket statement on a real PostgreSQL connection, no HTTP server): apps built with
  `rate_limit_per_s=0` (off: no limiter at all) and with a limit the requests never reach (on:
  every request takes a token), one request of each in turn so that a machine busy with other
  work slows both alike; then a workspace over its limit of 1 a second, refused (429: most
  refusals come from the process's memory of the last one, about one a second from the bucket);
- with `--http`, two gunicorn processes (1 worker, 2 threads each), one with the limit off and
  one on, called in turn from one `requests.Session` each; RabbitMQ must be up for their health
  check.

It prints p50 and p99 in milliseconds per case and what the limit adds at each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The cheap authenticated call timed.
PATH = "/v1/workspaces/current"

#: A limit no bench reaches: its bucket holds twice this.
NEVER_REACHED = 100_000

#: Calls of each case before the timed ones.
WARM_UP = 500


def main() -> int:
    args = _parser().parse_args()
    os.environ.update(DATABASE_URL=args.database_url, STEVORA_HANDLERS="")
    sys.path.insert(0, str(REPO_ROOT))
    from models.config import Settings, configure
    from models.db import bind_database, db
    from models.keys import create_workspace
    from models.migrate import create_database, migrate
    from models.rate_limits import set_rate_limit

    bind_database(configure(Settings.from_env()))
    create_database(args.database_url)
    migrate()
    with db.connection_context():
        _, _, key = create_workspace("Bench", f"bench-{uuid.uuid4().hex[:12]}")
        refused, _, refused_key = create_workspace("Over", f"bench-{uuid.uuid4().hex[:12]}")
        set_rate_limit(refused.id, 1)

    print(f"GET {PATH}: {args.requests} requests per case, the cases in turn")
    print(f"{'case':<34} {'p50 ms':>8} {'p99 ms':>8}")
    off, on, over = in_process(key, refused_key, args.requests)
    _report("in-process, limit off", off)
    _report("in-process, limit on (let through)", on)
    _report("in-process, over the limit: 429", over)
    _added("in-process", off, on)
    if args.http:
        off, on = over_http(key, args.requests)
        _report("gunicorn, limit off", off)
        _report("gunicorn, limit on (let through)", on)
        _added("gunicorn", off, on)
    return 0


def in_process(key: str, refused_key: str, requests: int) -> tuple[list, ...]:
    """Latencies (seconds) with the limit off, on and let through, and on and refused."""
    import dataclasses

    import falcon.testing

    from app.factory import create_app
    from models.config import current

    def caller(per_s: int, raw_key: str) -> Callable[[], int]:
        """A call of PATH, with `raw_key`, to an app of default limit `per_s`; its status."""
        app = create_app(dataclasses.replace(current(), rate_limit_per_s=per_s))
        client = falcon.testing.TestClient(app, headers={"x-api-key": raw_key})
        return lambda: client.simulate_get(PATH).status_code

    calls = {"off": caller(0, key), "on": caller(NEVER_REACHED, key)}
    _alternating(calls, WARM_UP)  # pool connections, prepared statements
    times = _alternating(calls, requests)
    refused = _alternating({"429": caller(NEVER_REACHED, refused_key)}, requests, status=429)
    return times["off"], times["on"], refused["429"]


def over_http(key: str, requests: int) -> tuple[list, list]:
    """Latencies (seconds) through two gunicorn processes, the limit off in one and on in the
    other, called in turn."""
    import requests as http

    from harness.processes import WEB, free_port, spawn, stop, wait_healthy

    log_dir = Path(tempfile.mkdtemp(prefix="stevora-bench-"))
    env = {**os.environ, "WEB_CONCURRENCY": "1", "WEB_THREADS": "2"}
    processes, calls = {}, {}
    try:
        for name, per_s in (("off", 0), ("on", NEVER_REACHED)):
            port, log = free_port(), log_dir / f"web-{name}.log"
            processes[name] = spawn(
                WEB, {**env, "PORT": str(port), "STEVORA_RATE_LIMIT_PER_S": str(per_s)}, log
            )
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, [processes[name]], [log])
            session = http.Session()
            session.headers["x-api-key"] = key
            calls[name] = lambda session=session, url=url: (
                session.get(f"{url}{PATH}", timeout=10).status_code
            )
        _alternating(calls, WARM_UP)
        times = _alternating(calls, requests)
        return times["off"], times["on"]
    finally:
        for process in processes.values():
            stop(process)


def _alternating(
    calls: dict[str, Callable[[], int]], n: int, status: int = 200
) -> dict[str, list[float]]:
    """`n` calls of each, in turn, the order swapped every time so that neither is always
    first; the latencies of those answered `status`, by name. 200 and 429 are all it takes."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for _ in range(n):
        order.reverse()
        for name in order:
            started = time.perf_counter()
            answered = calls[name]()
            elapsed = time.perf_counter() - started
            if answered not in (200, 429):
                raise SystemExit(f"GET {PATH} answered {answered}")
            if answered == status:
                times[name].append(elapsed)
    return times


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _report(case: str, times: list[float]) -> None:
    p50, p99 = _percentile(times, 50) * 1000, _percentile(times, 99) * 1000
    print(f"{case:<34} {p50:>8.3f} {p99:>8.3f}")


def _added(where: str, off: list[float], on: list[float]) -> None:
    p50 = (_percentile(on, 50) - _percentile(off, 50)) * 1000
    p99 = (_percentile(on, 99) - _percentile(off, 99)) * 1000
    print(f"{'  added by the limit, ' + where:<34} {p50:>8.3f} {p99:>8.3f}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/stevora_bench",
        help="its database, created and migrated when missing (a workspace is added to it)",
    )
    parser.add_argument("--requests", type=int, default=10_000, help="requests per case")
    parser.add_argument("--http", action="store_true", help="also time it through gunicorn")
    return parser


if __name__ == "__main__":
    sys.exit(main())
