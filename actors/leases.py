"""Leases on step attempts: no attempt runs in two workers at once.

A worker that takes on a RUNNING step from a command claims the run's lease first, a fenced
write that succeeds only when nobody holds it (`leased_until` empty or past, by the database's
clock). While the attempt runs, a heartbeat thread renews every lease the process holds, so a
live worker keeps its attempt however long it runs, and a dead one lets go within one lease:
the run's timer is the lease, so the clock sends the command again when it runs out. A second
command for an attempt that is held (the clock's redrive of a backed-up queue, a redelivery
after a connection blip, a publisher's forged retry) is dropped.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Iterator

import peewee

from models import config
from models.db import db
from models.leases import claim_lease, renew_leases
from models.runs import WorkflowRun

logger = logging.getLogger(__name__)


def claim(run: WorkflowRun) -> bool:
    """Take the run's lease for its current attempt; False when another worker holds it or
    the run moved meanwhile."""
    leased_until = claim_lease(run.id, run.version, config.current().lease_ms)
    if leased_until is None:
        return False
    run.leased_until = run.next_run_at = leased_until
    return True


def lease_end(now: datetime.datetime) -> datetime.datetime:
    """When a lease taken at `now` runs out, unless renewed."""
    return now + datetime.timedelta(milliseconds=config.current().lease_ms)


class _Heartbeat:
    """The leases this process holds, renewed every third of a lease by one thread."""

    def __init__(self) -> None:
        #: Run id -> the run whose lease is held, and the monotonic time to stop renewing it.
        self._held: dict[str, tuple[WorkflowRun, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(self, run: WorkflowRun, until: float) -> Iterator[None]:
        """Keep `run`'s lease renewed while the block runs, but not past `until` (monotonic):
        an attempt stuck past every time bound lets go, and the clock sends it again."""
        with self._lock:
            self._held[run.id] = (run, until)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._beat, name="stevora-lease-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(run.id, None)

    def _beat(self) -> None:
        stop = threading.Event()
        while not stop.wait(config.current().lease_ms / 3000):
            try:
                self.renew()
            except (peewee.DatabaseError, peewee.InterfaceError) as exc:
                logger.warning("lease heartbeat failed, the database is unavailable: %s", exc)

    def renew(self) -> int:
        """Renew every held lease now; how many were renewed."""
        now = time.monotonic()
        with self._lock:
            runs = [
                run
                for run, until in self._held.values()
                if run.leased_until is not None and now < until
            ]
        if not runs:
            return 0
        with db.connection_context():
            renewed = renew_leases(runs, config.current().lease_ms)
        with self._lock:
            for run in runs:
                if run.id in renewed and self._held.get(run.id, (None,))[0] is run:
                    run.leased_until = run.next_run_at = renewed[run.id]
        return len(renewed)


heartbeat = _Heartbeat()
