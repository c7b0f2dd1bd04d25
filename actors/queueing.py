"""Runs queued by a concurrency limit (SPEC section 9): whose turn it is to start.

Runs of a key start in creation order. A `start_run` for a run that is not the oldest PENDING
run of its key queues it and, when a slot is free, sends `start_run` for the oldest instead;
that one takes a slot (`models.transitions`, fenced) or is queued itself. Each start that
leaves a slot free, and each end of a limited run, names the next queued run
(`models.concurrency`), whose `start_run` is sent after the commit, and brings its timer to
now: a lost command is re-sent by the clock.
"""

from __future__ import annotations

import logging

import pika.exceptions
from dramatiq.errors import BrokerError

from actors.concurrency_keys import KeyUnrendered, concurrency_key
from models import concurrency
from models.definitions import definition_by_id
from models.runs import WorkflowRun

logger = logging.getLogger(__name__)


def its_turn(run: WorkflowRun) -> bool:
    """True when the PENDING `run` may try to take a slot now: its definition has no limit,
    or no older run of its key waits. Else the run is queued, and the oldest one sent on
    when a slot is free (its `start_run` was lost, or is on its way)."""
    limits = definition_by_id(run.definition_id).concurrency
    if limits is None:
        return True
    if run.concurrency_key is None and not concurrency.set_key(run, _key(limits, run)):
        return False  # it moved meanwhile: whoever moved it goes on
    head = concurrency.queue_head(run)
    if head is None or head.id == run.id:
        return True
    queue(run)
    if concurrency.has_room(run):
        send_start(head.id)
    return False


def queue(run: WorkflowRun) -> None:
    """Leave the run PENDING, waiting for a slot; its timer stays, for the clock's redrive."""
    concurrency.mark_queued(run)
    logger.info("run %s queued: its concurrency key has no free slot", run.id)


def send_start(run_id: str) -> None:
    """Send `start_run` for a queued run; when the broker cannot take it, its timer will."""
    from actors.runs import start_run  # the actor module imports the driver, which imports this

    try:
        start_run.send(run_id)
    except (BrokerError, pika.exceptions.AMQPError, OSError) as exc:
        logger.warning("start_run(%r) not sent (the clock will): %s", run_id, exc)


def _key(limits: dict, run: WorkflowRun) -> str:
    """The key of a run inserted without one (a schedule's fire): its input's, or "" when the
    input does not give the key a value (the API refuses such a run; a schedule cannot)."""
    try:
        return concurrency_key(limits, run.input)
    except KeyUnrendered as exc:
        logger.warning("run %s: %s; it counts under the empty key", run.id, exc)
        return ""


concurrency.when_turn(send_start)
