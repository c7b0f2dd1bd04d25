"""Machines whose clocks differ agree on every timer: the database's clock is the one clock.

Workers and clocks whose clocks are 30 s fast or slow run as real processes under libfaketime
(Debian's `faketime`, installed when missing). Every wait still ends once and on time by
PostgreSQL's `now()`: not a skew late because the worker's clock runs fast, and not fired again
and again by a clock that thinks it overdue.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.invariants import assert_invariants
from harness.processes import CLOCK, kill, spawn, worker_command
from models import statuses
from models.runs import StepRun
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL
from tests.support import create_run_over_http, wait_for_run
from tests.test_races_and_crashes import marks

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
SKEW_SECONDS = 30
WAIT_MS = 1500


def ensure_libfaketime() -> None:
    """Install Debian's faketime when it is missing (the suite runs as root on Debian)."""
    if LIBFAKETIME.exists():
        return
    if shutil.which("apt-get") is None:
        pytest.skip("libfaketime is not installed and there is no apt-get to install it")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "faketime"], check=True, capture_output=True)


def skewed(env: dict[str, str], seconds: int) -> dict[str, str]:
    """`env` for a process whose clocks are `seconds` off. Its monotonic clock moves by the
    same constant (harmless): left alone, libfaketime breaks `time.sleep`."""
    if seconds == 0:
        return env
    return {**env, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{seconds:+d}s"}


@pytest.fixture
def system(tmp_path):
    """Starts a worker and clocks with the wall-clock skews given; kills them after."""
    ensure_libfaketime()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "STEVORA_HANDLERS": "harness.handlers",
    }
    # The skew is real: a process started so reads a clock that far off.
    ahead = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=skewed(env, SKEW_SECONDS),
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(ahead.stdout) - time.time() - SKEW_SECONDS) < 5
    processes = []

    def start(worker_skew: int, clock_skews: list[int]) -> list[Path]:
        processes.append(
            spawn(worker_command(1, 4), skewed(env, worker_skew), tmp_path / "worker.log")
        )
        logs = [tmp_path / f"clock{number}.log" for number in range(len(clock_skews))]
        for skew, log in zip(clock_skews, logs, strict=True):
            processes.append(spawn(CLOCK, skewed(env, skew), log))
        return logs

    yield start
    for process in processes:
        kill(process)


def waiting_runs(client, auth, log: Path, count: int = 5) -> list[str]:
    """Runs that wait 1.5 s, then mark `log`."""
    steps = [
        {"type": "wait", "name": "nap", "durationMs": WAIT_MS},
        {"type": "task", "name": "after", "handler": "marker", "config": {"path": str(log)}},
    ]
    return [create_run_over_http(client, auth, steps) for _ in range(count)]


def assert_on_time_and_once(run_ids: list[str], log: Path, began: float) -> None:
    done = [wait_for_run(run_id, timeout=60) for run_id in run_ids]
    elapsed = time.monotonic() - began
    assert [run.status for run in done] == [statuses.COMPLETED] * len(run_ids)
    # Not early, and not a skew late, by this machine's (true) monotonic clock...
    assert WAIT_MS / 1000 <= elapsed < WAIT_MS / 1000 + 5, elapsed
    # ...and by the database's, as the step runs were stamped.
    for run_id in run_ids:
        (nap,) = StepRun.select().where((StepRun.run == run_id) & (StepRun.step_name == "nap"))
        assert WAIT_MS <= nap.duration_ms < WAIT_MS + 5000, nap.duration_ms
    assert len(marks(log, "start")) == len(run_ids)
    assert_invariants(run_ids, expect=lambda run: {statuses.COMPLETED})


def commands_sent(logs: list[Path]) -> int:
    sent = re.compile(r"clock sent (\d+) command")
    return sum(int(m.group(1)) for log in logs for m in sent.finditer(log.read_text()))


def test_a_worker_whose_clock_runs_fast_still_waits_the_whole_wait(client, auth, system, tmp_path):
    # Given a worker 30 s ahead of the database, and a clock on time
    system(SKEW_SECONDS, [0])
    log = tmp_path / "calls"

    # When runs wait 1.5 s, then they end on time, once
    began = time.monotonic()
    assert_on_time_and_once(waiting_runs(client, auth, log), log, began)


def test_two_clocks_apart_fire_each_timer_once_on_time(client, auth, system, tmp_path):
    # Given a worker 30 s behind, a clock 30 s ahead and a clock on time
    logs = system(-SKEW_SECONDS, [SKEW_SECONDS, 0])
    log = tmp_path / "calls"

    # When runs wait 1.5 s
    began = time.monotonic()
    run_ids = waiting_runs(client, auth, log)

    # Then they end on time, once, and the clocks sent one wake-up each (not one per tick of
    # a clock that believes the timer is overdue)
    assert_on_time_and_once(run_ids, log, began)
    assert commands_sent(logs) <= len(run_ids) + 2, commands_sent(logs)
