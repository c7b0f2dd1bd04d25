"""Stevora's Dramatiq actors. The broker is set up first, then the actors bind to it.

Run a worker with `dramatiq actors`.
"""

# The broker module must be imported before any actor module.
from actors.broker import broker
from actors.registry import load_handler_modules
from actors.runs import execute_step, start_run
from actors.signals import deliver_signal
from actors.webhooks import deliver_webhook

load_handler_modules()

__all__ = ["broker", "deliver_signal", "deliver_webhook", "execute_step", "start_run"]
