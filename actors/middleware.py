"""Dramatiq middleware that gives each message its own pooled database connection."""

from __future__ import annotations

from dramatiq.middleware import Middleware

from models.db import db


class DatabaseConnection(Middleware):
    """Open a pooled connection before an actor runs and return it to the pool after.

    Peewee connections are per thread; worker threads each take one for the message at hand.
    """

    def before_process_message(self, broker, message):
        db.connect(reuse_if_open=True)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._release()

    def after_skip_message(self, broker, message):
        self._release()

    @staticmethod
    def _release() -> None:
        if not db.is_closed():
            db.close()
