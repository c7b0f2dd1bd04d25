"""GET /health: can this process reach the database and the broker? No auth, no envelope.

Anyone may call it, so the broker check, which opens a RabbitMQ connection, runs at most once
per `QUEUE_CHECK_INTERVAL` in a process; calls in between get its last answer.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable

import falcon
import peewee
import pika
import pika.exceptions
from playhouse.pool import MaxConnectionsExceeded

from app.auth import Access
from models.db import ping

logger = logging.getLogger(__name__)

#: Where the health check is served.
HEALTH_PATH = "/health"

#: Seconds the queue check may spend connecting to RabbitMQ.
QUEUE_TIMEOUT = 2
#: Seconds a queue check's answer is reused: calls in between open no connection.
QUEUE_CHECK_INTERVAL = 2.0


class KeptAnswer:
    """A check whose answer is kept for `interval` seconds; one thread at a time runs it, and
    the others wait for its answer rather than run their own."""

    def __init__(self, check: Callable[[], str], interval: float) -> None:
        self.check = check
        self.interval = interval
        self._lock = threading.Lock()
        self._answer: str | None = None
        self._answered_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            if self._answer is None or time.monotonic() - self._answered_at >= self.interval:
                self._answer = self.check()
                self._answered_at = time.monotonic()
            return self._answer


class Health:
    access = Access.PUBLIC

    def __init__(self, broker_parameters: pika.connection.Parameters | list) -> None:
        self.broker_parameters = broker_parameters
        self.queue_check = KeptAnswer(self._queue, QUEUE_CHECK_INTERVAL)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"database": self._database(), "queue": self.queue_check()}
        healthy = all(value == "ok" for value in checks.values())
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        resp.media = {"status": "ok" if healthy else "degraded", "checks": checks}

    def _database(self) -> str:
        # The database middleware skips this route: an outage must show here, not fail it.
        try:
            ping()
        except (peewee.PeeweeException, MaxConnectionsExceeded) as exc:
            logger.warning("health: database check failed: %s", exc)
            return f"error: {type(exc).__name__}"
        return "ok"

    def _queue(self) -> str:
        try:
            connection = pika.BlockingConnection(self._short_parameters())
            connection.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            logger.warning("health: queue check failed: %r", exc)
            return f"error: {type(exc).__name__}"
        return "ok"

    def _short_parameters(self) -> list[pika.connection.Parameters]:
        given = self.broker_parameters
        candidates = given if isinstance(given, list) else [given]
        shortened = []
        for parameters in candidates:
            parameters = copy.copy(parameters)
            parameters.connection_attempts = 1
            parameters.socket_timeout = QUEUE_TIMEOUT
            parameters.stack_timeout = QUEUE_TIMEOUT + 1
            parameters.blocked_connection_timeout = QUEUE_TIMEOUT
            shortened.append(parameters)
        return shortened
