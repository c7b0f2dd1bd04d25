"""A fault for the fault runs: this process publishes every message to RabbitMQ twice.

Imported by a process before it sends anything: `dramatiq actors harness.publish_twice`, the
gunicorn app `harness.publish_twice:wsgi()`, and a clock started after `import
harness.publish_twice`. Every command (start_run, execute_step, a retry) then reaches RabbitMQ
twice, as a broker that redelivers or a publisher that retries would make it. The product has
no such switch: only the test and the fault script's processes import this.
"""

from __future__ import annotations

import threading

from dramatiq.middleware import Middleware

import actors


class PublishTwice(Middleware):
    """After each message is published, publish it once more."""

    def __init__(self) -> None:
        self._again = threading.local()

    def after_enqueue(self, broker, message, delay) -> None:
        if getattr(self._again, "active", False):
            return
        self._again.active = True
        try:
            # `message` is what was published: for a delayed one, already on the delay queue
            # with its `eta`, so it goes as it is.
            broker.enqueue(message)
        finally:
            self._again.active = False


actors.broker.add_middleware(PublishTwice())


def wsgi():
    """The API's WSGI app, for gunicorn, in a process that publishes twice."""
    from app.wsgi import application

    return application
