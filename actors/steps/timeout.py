"""A time bound for a task handler call (`timeoutMs`).

Raises `StepTimeout` inside the running thread when the time is up, as Dramatiq's TimeLimit
does. Like it, it cannot interrupt a blocking call in C (a socket read): handlers should set
their own network timeouts too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from dramatiq.middleware import raise_thread_exception

#: Dramatiq's time limit for one actor call. Below RabbitMQ's 30 min consumer_timeout, so a slow
#: step fails cleanly instead of having its message taken back and redelivered.
STEP_TIME_LIMIT_MS = 20 * 60 * 1000


class StepTimeout(BaseException):
    """The handler ran past its step's `timeoutMs`.

    A BaseException, like Dramatiq's interrupts, so a handler's `except Exception` cannot
    swallow it.
    """


@contextlib.contextmanager
def time_bound(milliseconds: int | None) -> Iterator[None]:
    if milliseconds is None:
        yield
        return
    thread_id = threading.get_ident()
    finished = threading.Event()
    lock = threading.Lock()

    def interrupt() -> None:
        with lock:
            if not finished.is_set():
                raise_thread_exception(thread_id, StepTimeout)

    timer = threading.Timer(milliseconds / 1000, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            finished.set()
        timer.cancel()
