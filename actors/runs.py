"""The actors that start runs and execute their steps: thin wrappers over `actors.driver`."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors import driver
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from models import statuses
from models.runs import run_by_id, step_run_by_id

#: How an actor that raised (a database or broker outage) is tried again: soon and fast, since
#: every command is fenced and safe to repeat: 1, 2, 4, 8, 16 s, about half a minute in all,
#: which a database restart fits in. The clock's redrive covers anything longer.
RETRY_OPTIONS = {"max_retries": 5, "min_backoff": 1_000, "max_backoff": 16_000}


@dramatiq.actor(queue_name="runs", time_limit=STEP_TIME_LIMIT_MS, **RETRY_OPTIONS)
def start_run(run_id: str) -> None:
    """Start a PENDING run: RUNNING, first step started, and as many steps as are cheap."""
    if redelivered():
        take_over(run_id)
    else:
        driver.start(run_id, hand_off)


@dramatiq.actor(queue_name="steps", time_limit=STEP_TIME_LIMIT_MS, **RETRY_OPTIONS)
def execute_step(run_id: str, step_run_id: str, step_index: int, attempt: int) -> None:
    """Execute a step run's attempt, if the run is still there (the fence), and go on."""
    if redelivered():
        take_over(run_id)
    else:
        driver.resume(run_id, step_run_id, attempt, hand_off)


def hand_off(run_id: str, step_run_id: str, step_index: int, attempt: int) -> None:
    """Send the rest of a run to the broker: the next worker takes it from this step."""
    execute_step.send(run_id, step_run_id, step_index, attempt)


def redelivered() -> bool:
    """True when the message being processed comes again: RabbitMQ took it back from a
    consumer that went away (a worker killed, a connection lost), or Dramatiq retries it after
    the actor raised. Either way, steps past the one it names may have been committed."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return False
    retries = message.options.get("retries", 0)
    retried = isinstance(retries, int) and retries > 0
    return bool(getattr(message, "redelivered", False)) or retried


def take_over(run_id: str) -> None:
    """Go on from wherever the run is, for a message whose worker went away holding it.

    That worker may have run steps past the one the message names (the inline chain) and died
    in the middle of one: the fence would drop the message, and the run would wait for its
    lease to expire. The run's current step is the unfinished one, so it is taken on. Should
    another worker still be on it, the version fence keeps one outcome.
    """
    run = run_by_id(run_id)
    if run is None:
        return
    if run.status == statuses.PENDING:
        driver.start(run_id, hand_off)
    elif run.current_step_run_id is not None:
        step_run = step_run_by_id(run.current_step_run_id)
        driver.resume(run_id, step_run.id, step_run.attempt, hand_off)
