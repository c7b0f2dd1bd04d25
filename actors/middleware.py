"""Dramatiq middleware: a pooled database connection per message, and a graceful shutdown."""

from __future__ import annotations

import signal
import threading
import time

from dramatiq.middleware import Middleware

from models.base import database_clock
from models.db import db


class DatabaseConnection(Middleware):
    """Open a pooled connection before an actor runs and return it to the pool after.

    Peewee connections are per thread; worker threads each take one for the message at hand.
    """

    def before_process_message(self, broker, message):
        db.connect(reuse_if_open=True)
        database_clock.sync()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._release()

    def after_skip_message(self, broker, message):
        self._release()

    @staticmethod
    def _release() -> None:
        if not db.is_closed():
            db.close()


class OneShutdownSignal(Middleware):
    """In a worker process, SIGTERMs that come together are one request to shut down gracefully.

    A platform that stops a whole process group (honcho under `stevora up`, Heroku, systemd's
    default KillMode) sends SIGTERM to dramatiq's worker processes, and dramatiq's main process
    forwards its own SIGTERM to them as well: each gets two within milliseconds. Dramatiq takes
    a second SIGTERM as "exit now" and cuts the steps in hand, where the first waits for them.
    A repeat within `window` seconds of the first is dropped; a later one still means exit now.
    """

    def __init__(self, window: float = 2.0) -> None:
        self.window = window

    def after_process_boot(self, broker) -> None:
        # Dramatiq's worker process has set its handler by now, in its main thread.
        handle = signal.getsignal(signal.SIGTERM)
        if not callable(handle) or threading.current_thread() is not threading.main_thread():
            return
        first: list[float] = []

        def once(signum, frame):
            now = time.monotonic()
            if first and now - first[0] < self.window:
                return None
            first[:] = [now]
            return handle(signum, frame)

        signal.signal(signal.SIGTERM, once)
