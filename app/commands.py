"""The commands the API sends to workers, once the change they act on is committed.

Publishing is a hint (ARCHITECTURE.md): when the broker cannot take a command the request
still succeeds, and the clock re-sends it from the run's `next_run_at`. So a failed publish is
logged, never raised.
"""

from __future__ import annotations

import logging

import dramatiq
import pika.exceptions
from dramatiq.errors import BrokerError

from actors.runs import execute_step, start_run
from models.pausing import Wake
from models.runs import StepRun

logger = logging.getLogger(__name__)


def publish(broker: dramatiq.Broker, message: dramatiq.Message) -> bool:
    """Send a command; False (logged) when the broker cannot take it."""
    try:
        broker.enqueue(message)
    except (BrokerError, pika.exceptions.AMQPError, OSError) as exc:
        call = f"{message.actor_name}({', '.join(map(repr, message.args))})"
        logger.warning("%s not published (the clock will re-send): %s", call, exc)
        return False
    return True


def publish_start(broker: dramatiq.Broker, run_id: str) -> bool:
    """`start_run` for a committed PENDING run."""
    return publish(broker, start_run.message(run_id))


def publish_step(broker: dramatiq.Broker, step_run: StepRun) -> bool:
    """`execute_step` for the committed current attempt of `step_run`."""
    return publish(
        broker,
        execute_step.message(step_run.run_id, step_run.id, step_run.step_index, step_run.attempt),
    )


def publish_wake(broker: dramatiq.Broker, wake: Wake) -> bool:
    """The command a committed unpause asks for: `start_run`, or `execute_step` of the attempt
    it names."""
    if wake.step_run is None:
        return publish_start(broker, wake.run_id)
    step_run = wake.step_run
    return publish(
        broker, execute_step.message(wake.run_id, step_run.id, step_run.step_index, wake.attempt)
    )
