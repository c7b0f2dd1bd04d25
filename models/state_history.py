"""A run's past states, folded back from what each of its step runs merged into its state.

A run's state is where it started (`initial_state`: `{}`, or the state a rerun was given)
with what each of its step runs merged into it folded in, in the order the run visited them:
the event log's order, whatever the clocks of the machines that wrote them said. What a step
run merged is its `state_updates` (`actors.recording` writes it with the outcome), or its
`output` when that column is NULL (a task's result: the common case stores nothing more). So
the state at any visit is the fold of the visits before it, and no state is copied per step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from models.db import db

#: Each step run of a run with what it merged into state, in the order the run visited them:
#: by the first event about each (its STEP_STARTED or STEP_SKIPPED).
_VISITS = """
SELECT s.step_name, s.status, s.output, s.state_updates
FROM step_run AS s
JOIN (
    SELECT step_run_id, min(sequence) AS first FROM run_event
    WHERE run_id = %s AND event_type IN ('STEP_STARTED', 'STEP_SKIPPED')
    GROUP BY step_run_id
) AS e ON e.step_run_id = s.id
ORDER BY e.first
"""


@dataclass(frozen=True)
class Visit:
    """One step run of a run, as the fold reads it."""

    step_name: str
    status: str
    #: What it merged into the run's state.
    merged: dict[str, Any]


def merged_into_state(output: dict | None, state_updates: dict | None) -> dict[str, Any]:
    """What a step run merged into its run's state, from its two columns."""
    return (state_updates if state_updates is not None else output) or {}


def fold(initial_state: dict | None, visits: Iterable[Visit]) -> dict[str, Any]:
    """The state of a run that started from `initial_state` after `visits`, in order."""
    state = dict(initial_state or {})
    for visit in visits:
        state.update(visit.merged)
    return state


def visits_of(run_id: str) -> list[Visit]:
    """The run's step runs in the order it visited them."""
    rows = db.execute_sql(_VISITS, (run_id,)).fetchall()
    return [
        Visit(name, status, merged_into_state(output, updates))
        for name, status, output, updates in rows
    ]
