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

#: Where a run may go from each status. FAILED -> RUNNING is the retry operation.
RUN_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, CANCELLED}),
    RUNNING: frozenset({WAITING, PAUSED, COMPLETED, FAILED, CANCELLED}),
    WAITING: frozenset({RUNNING, FAILED, CANCELLED}),
    PAUSED: frozenset({RUNNING, FAILED, CANCELLED}),
    FAILED: frozenset({RUNNING}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}

#: Where a step run may go from each status. FAILED -> RUNNING is a retried run's step.
STEP_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({RUNNING, SKIPPED, CANCELLED}),
    RUNNING: frozenset({WAITING, COMPLETED, FAILED, CANCELLED}),
    WAITING: frozenset({RUNNING, COMPLETED, FAILED, CANCELLED}),
    FAILED: frozenset({RUNNING}),
    COMPLETED: frozenset(),
    SKIPPED: frozenset(),
    CANCELLED: frozenset(),
}

#: Statuses a run never leaves.
FINAL_RUN_STATUSES = frozenset({COMPLETED, CANCELLED})
#: Statuses in which a run may be cancelled.
CANCELLABLE = frozenset({PENDING, RUNNING, WAITING, PAUSED})
