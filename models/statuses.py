"""Run and step-run statuses and the moves allowed between them (SPEC section 4)."""

from __future__ import annotations

PENDING = "PENDING"
RUNNING = "RUNNING"
WAITING = "WAITING"
PAUSED = "PAUSED"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
SKIPPED = "SKIPPED"

RUN_STATUSES = (PENDING, RUNNING, WAITING, PAUSED, COMPLETED, FAILED, CANCELLED)
STEP_STATUSES = (PENDING, RUNNING, WAITING, COMPLETED, FAILED, SKIPPED, CANCELLED)

#: Why a PAUSED run is held: a step asks for approval, or a user paused it (SPEC section 8).
APPROVAL = "approval"
MANUAL = "manual"
PAUSED_REASONS = (APPROVAL, MANUAL)

#: Where a run may go from each status. FAILED -> RUNNING is the retry operation; the moves
#: into and out of PAUSED that only a manual pause makes are `MANUAL_PAUSE_MOVES`.
RUN_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, PAUSED, CANCELLED}),
    RUNNING: frozenset({WAITING, PAUSED, COMPLETED, FAILED, CANCELLED}),
    WAITING: frozenset({RUNNING, PAUSED, FAILED, CANCELLED}),
    PAUSED: frozenset({RUNNING, WAITING, PENDING, FAILED, CANCELLED}),
    FAILED: frozenset({RUNNING}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}

#: Moves only a manual pause and its unpause make: a step pauses a RUNNING run (an approval),
#: never a PENDING or WAITING one, and only an unpause puts a run back where it was.
MANUAL_PAUSE_MOVES = frozenset(
    {(PENDING, PAUSED), (WAITING, PAUSED), (PAUSED, PENDING), (PAUSED, WAITING)}
)
#: Where a manual pause may come from.
PAUSABLE = frozenset({PENDING, RUNNING, WAITING})

#: Where a step run may go from each status. FAILED -> RUNNING is the step's next attempt, once
#: its backoff is over (a retried run starts a new step run).
STEP_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, SKIPPED, CANCELLED}),
    RUNNING: frozenset({WAITING, COMPLETED, FAILED, CANCELLED}),
    WAITING: frozenset({RUNNING, COMPLETED, FAILED, CANCELLED}),
    FAILED: frozenset({RUNNING}),
    COMPLETED: frozenset(),
    SKIPPED: frozenset(),
    CANCELLED: frozenset(),
}

#: Statuses in which a run is final (SPEC's word): no worker or clock moves it again, and it
#: holds no timer. Only a user's operation may: the retry of a FAILED run.
FINAL_RUN_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED})
#: The final statuses a run never leaves, whatever anyone does.
CLOSED_RUN_STATUSES = frozenset({COMPLETED, CANCELLED})
#: Statuses in which a step run's attempt is over, stamped with `completed_at` and its duration.
#: A FAILED step run may still start its next attempt.
ENDED_STEP_STATUSES = frozenset({COMPLETED, FAILED, SKIPPED, CANCELLED})
#: Statuses in which a run is held at its current step, waiting for a timer, a signal or a
#: decision; a step that goes on moves it to RUNNING again.
HELD_RUN_STATUSES = frozenset({WAITING, PAUSED})
#: Statuses in which a run's current step may be acted on by a worker, unless a user paused it
#: (`models.pausing.manually_paused`).
LIVE_RUN_STATUSES = frozenset({RUNNING, WAITING, PAUSED})
#: Statuses in which a run may be cancelled.
CANCELLABLE = frozenset({PENDING, RUNNING, WAITING, PAUSED})
