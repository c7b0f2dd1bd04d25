"""The clock: turns due timers into commands, waking when the next one is due (at least once a
second). Safe to run in copies.

Timers live in PostgreSQL (`workflow_run.next_run_at`): wait steps, retry backoffs, signal and
approval timeouts, and the redrive of commands nobody acted on (a run still PENDING, a step
whose worker died). Webhook deliveries have theirs (`webhook_delivery.next_attempt_at`: a new
delivery, the backoff before the next attempt), claimed by `actors.webhooks.due_deliveries`.
Schedules have theirs (`schedule.next_fire_at`): a due one inserts its run, which the clock
then starts (`models.schedules.fire_due_schedules`). Due rows are taken with `FOR UPDATE SKIP
LOCKED` and pushed ahead in the same transaction, so two clocks never fire one timer twice,
and a command that gets lost is sent again later. Commands are sent after the claim commits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import peewee
from dramatiq.errors import BrokerError

from actors.runs import execute_step, start_run
from actors.webhooks import due_deliveries
from models import config, statuses
from models.base import database_clock, utcnow
from models.db import db
from models.schedules import fire_due_schedules
from models.timers import DueRun, claim_due_runs, next_due_at

logger = logging.getLogger(__name__)

#: Most timers one tick fires; the rest wait for the next tick.
BATCH = 500

#: Most schedules one tick fires, in one transaction; the rest fire on the next tick.
SCHEDULE_BATCH = 100

#: Shortest pause between ticks, so a timer that stays due (its row locked) cannot spin.
MIN_PAUSE = 0.01


@dataclass(frozen=True)
class Command:
    """What a due timer asks for: start a run, or look at (or retry) its current step."""

    run_id: str
    step_run_id: str | None = None
    step_index: int | None = None
    attempt: int | None = None

    def send(self) -> None:
        if self.step_run_id is None:
            start_run.send(self.run_id)
        else:
            execute_step.send(self.run_id, self.step_run_id, self.step_index, self.attempt)


def due_commands() -> list[Command]:
    """Claim the due timers (pushing each one redrive interval ahead) and say what to send."""
    return list(_commands(claim_due_runs(BATCH, config.current().redrive_after_ms)))


def scheduled_starts() -> list[Command]:
    """Fire the due schedules (each fire's run inserted PENDING, its next fire written) and
    say which runs to start."""
    return [Command(run_id) for run_id in fire_due_schedules(SCHEDULE_BATCH)]


def _commands(claimed: Iterable[DueRun]) -> Iterable[Command]:
    for due in claimed:
        if due.status == statuses.PENDING:
            yield Command(due.run_id)
        elif due.step_index is not None:  # its current step run was found
            attempt = due.attempt
            if due.status == statuses.RUNNING and due.step_status == statuses.FAILED:
                attempt += 1  # the backoff is over: the next attempt
            yield Command(due.run_id, due.step_run_id, due.step_index, attempt)


def tick() -> int:
    """One pass: claim what is due and send its commands; how many were sent."""
    with db.connection_context():
        database_clock.sync()
        commands = [*scheduled_starts(), *due_commands()]
        deliveries = due_deliveries()
    sent = 0
    for command in [*commands, *deliveries]:
        try:
            command.send()
            sent += 1
        except BrokerError as exc:
            # The timer was pushed ahead: the clock tries again after the redrive interval.
            logger.warning("clock could not send %s: %s", command, exc)
    return sent


def pause(interval: float) -> float:
    """Seconds until the earliest timer (a delivery, a schedule's fire) is due, at most
    `interval`: waits wake and schedules fire on time."""
    with db.connection_context():
        next_due = next_due_at()
    if next_due is None:
        return interval
    return max(MIN_PAUSE, min(interval, (next_due - utcnow()).total_seconds()))


def run(stop: threading.Event, settings: config.Settings) -> None:
    """Tick until `stop` is set, every `settings.clock_interval_ms` at most."""
    interval = settings.clock_interval_ms / 1000
    logger.info(
        "clock started: every %.3f s, redrive after %d ms", interval, settings.redrive_after_ms
    )
    while not stop.is_set():
        try:
            sent = tick()
            wait = pause(interval)
        except (peewee.DatabaseError, peewee.InterfaceError) as exc:
            logger.warning("clock tick failed, the database is unavailable: %s", exc)
            sent, wait = 0, interval
        if sent:
            logger.info("clock sent %d command(s)", sent)
        stop.wait(wait)


def main() -> None:
    """The `clock` process: runs until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run(stop, config.current())
