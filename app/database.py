"""Falcon middleware that lends each request a pooled database connection.

Peewee connections are per thread. A request reuses a connection its thread already holds
(a test's thread holds one) and only returns to the pool a connection it opened itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import falcon

from models.base import database_clock
from models.db import db


class DatabaseSession:
    """Open a connection in `process_request`, give it back in `process_response`.

    Paths in `exempt` (the health check) manage their own connection, so that a database
    outage shows in their answer instead of failing the request up front.
    """

    def __init__(self, exempt: Iterable[str] = ()) -> None:
        self.exempt = frozenset(exempt)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.opened_db = False
        if req.path in self.exempt:
            return
        req.context.opened_db = db.connect(reuse_if_open=True)
        database_clock.sync()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if req.context.get("opened_db") and not db.is_closed():
            db.close()
