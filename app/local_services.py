"""Start this machine's PostgreSQL and RabbitMQ when they are installed but stopped.

Used by `stevora up` and by the test suite, so both work on a fresh machine; says clearly what
is missing when a service is not installed at all.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time


class ServiceMissing(RuntimeError):
    """A service Stevora needs is neither running nor installed here."""


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(host, port):
            return True
        time.sleep(0.5)
    return False


def _run(*command: str) -> None:
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432) -> None:
    if _answers(host, port):
        return
    if shutil.which("pg_ctlcluster") is None:
        raise ServiceMissing(
            f"PostgreSQL does not answer on {host}:{port} and is not installed "
            "(install the Debian package 'postgresql', or point DATABASE_URL at a server)"
        )
    versions = sorted(
        (os.path.basename(p) for p in glob.glob("/etc/postgresql/*")),
        key=lambda v: [int(x) for x in v.split(".") if x.isdigit()],
    )
    if not versions:
        raise ServiceMissing("PostgreSQL is installed but has no cluster under /etc/postgresql")
    _run("pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start")
    if not _wait(host, port, 30):
        raise ServiceMissing(f"PostgreSQL was started but does not answer on {host}:{port}")


def ensure_rabbitmq(host: str = "127.0.0.1", port: int = 5672) -> None:
    if _answers(host, port):
        return
    if shutil.which("rabbitmqctl") is None or shutil.which("rabbitmq-server") is None:
        raise ServiceMissing(
            f"RabbitMQ does not answer on {host}:{port} and is not installed "
            "(install the Debian package 'rabbitmq-server', or point BROKER_URL at a server)"
        )
    # The node may be up with its app stopped (`rabbitmqctl stop_app`), or down entirely.
    pinged = subprocess.run(["rabbitmqctl", "-q", "ping"], capture_output=True, check=False)
    if pinged.returncode == 0:
        _run("rabbitmqctl", "-q", "start_app")
    else:
        _run("rabbitmq-server", "-detached")
    _run("rabbitmqctl", "-q", "await_startup")
    if not _wait(host, port, 60):
        raise ServiceMissing(f"RabbitMQ was started but does not answer on {host}:{port}")


def ensure_running(database_host: str, database_port: int, broker_host: str, broker_port: int):
    """Make sure PostgreSQL and RabbitMQ answer, starting local ones that are stopped."""
    ensure_postgres(database_host, database_port)
    ensure_rabbitmq(broker_host, broker_port)
