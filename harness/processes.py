"""The real processes as the Procfile runs them (gunicorn, dramatiq, the clock), as subprocesses
a test or the fault script starts, signals, kills and restarts.

Each process is the leader of its own process group, so a kill reaches its children too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The Procfile's commands, as arguments to this Python.
WEB = ("-m", "gunicorn", "-c", "python:app.gunicorn_config", "app.wsgi:application")
CLOCK = ("-c", "from actors import clock; clock.main()")

#: Longest the processes get to answer /health after they start.
HEALTHY_WITHIN_SECONDS = 20


class ProcessFailed(RuntimeError):
    """A process did not come up; the message carries the end of its log."""


def worker_command(processes: int = 1, threads: int = 2, modules: Sequence[str] = ()) -> tuple:
    """`dramatiq actors` with these processes and threads, importing `modules` too."""
    return (
        "-m",
        "dramatiq",
        "actors",
        *modules,
        "--processes",
        str(processes),
        "--threads",
        str(threads),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `python args...` from the repository root, its output appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group; kill it when it is still there after `timeout` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process group, at once."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_healthy(url: str, processes: Sequence[subprocess.Popen], logs: Sequence[Path]) -> None:
    """Wait until `url`/health answers 200; `ProcessFailed` when a process exits or time's up."""
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            break
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or still starting its workers
        time.sleep(0.1)
    tails = "\n".join(f"--- {path.name}\n{tail(path)}" for path in logs)
    raise ProcessFailed(f"the processes did not become healthy at {url}/health:\n{tails}")


def tail(path: Path, size: int = 3000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else "(no log)"


class System:
    """Web, worker and clock processes on one database and vhost, each killed and started again
    at will; `url` is where the web process listens."""

    def __init__(
        self,
        log_dir: Path,
        env: dict[str, str],
        *,
        web: Sequence[str] = WEB,
        worker: Sequence[str] = worker_command(1, 4),
        clock: Sequence[str] = CLOCK,
    ) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**env, "PORT": str(port)}
        self.log_dir = log_dir
        self.commands = {"web": tuple(web), "worker": tuple(worker), "clock": tuple(clock)}
        self.processes: dict[str, list[subprocess.Popen]] = {name: [] for name in self.commands}
        self._started = 0

    def start(self, name: str) -> subprocess.Popen:
        """Start one more `web`, `worker` or `clock` process."""
        self._started += 1
        log = self.log_dir / f"{self._started:02d}-{name}.log"
        process = spawn(self.commands[name], self.env, log)
        process.log = log
        self.processes[name].append(process)
        return process

    def start_all(self, clocks: int = 1) -> None:
        """A web process, a worker and `clocks` clocks; returns once the API answers."""
        self.start("web")
        self.start("worker")
        for _ in range(clocks):
            self.start("clock")
        self.wait_healthy()

    def wait_healthy(self) -> None:
        live = self.live()
        wait_healthy(self.url, live, [process.log for process in live])

    def live(self, name: str | None = None) -> list[subprocess.Popen]:
        names = [name] if name else list(self.processes)
        return [p for n in names for p in self.processes[n] if p.poll() is None]

    def kill(self, name: str) -> None:
        """SIGKILL every live process of this kind."""
        for process in self.live(name):
            kill(process)

    def stop(self, name: str | None = None) -> None:
        """SIGTERM the processes of this kind (every kind when None), waiting for them."""
        for process in self.live(name):
            stop(process)

    def kill_all(self) -> None:
        """SIGKILL every live process: the quick way to end a test."""
        for process in self.live():
            kill(process)

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        every = [p for processes in self.processes.values() for p in processes]
        return "\n".join(f"--- {p.log.name}\n{tail(p.log)}" for p in every)
