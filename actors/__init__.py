"""Stevora's Dramatiq actors, and the worker's setup: run a worker with `dramatiq actors`.

Importing the package sets the process up from its settings (`models.config.current()`: those
its entry point configured, else the environment's): the database is bound and the broker made,
then the actors bind to it and the task handler modules load.
"""

from models.config import current
from models.db import bind_database

from actors.broker import make_broker  # isort: skip (before any actor module)

settings = current()
bind_database(settings)
broker = make_broker(settings)

from actors.registry import load_handler_modules  # noqa: E402
from actors.runs import execute_step, start_run  # noqa: E402
from actors.signals import deliver_signal  # noqa: E402
from actors.webhooks import deliver_webhook  # noqa: E402

load_handler_modules(settings.handler_modules)

__all__ = ["broker", "deliver_signal", "deliver_webhook", "execute_step", "start_run"]
