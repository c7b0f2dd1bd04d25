"""The one path that changes statuses: the state machine, the version fence, the event log."""

from __future__ import annotations

import threading

import pytest

from models import statuses
from models.db import db
from models.errors import IllegalTransition, RunConflict
from models.runs import RunEvent, StepRun, WorkflowRun, events_of
from models.transitions import RunChange
from tests.support import insert_definition, insert_run

STEPS = [{"type": "task", "name": "a", "handler": "noop"}]


@pytest.fixture
def run(workspace):
    return insert_run(insert_definition(workspace[0], STEPS))


def _force_status(run: WorkflowRun, status: str, paused_reason: str | None = None) -> WorkflowRun:
    # Test set-up only: put a run in a status without walking the machine to it.
    WorkflowRun.update(status=status, paused_reason=paused_reason).where(
        WorkflowRun.id == run.id
    ).execute()
    return WorkflowRun.get_by_id(run.id)


@pytest.mark.parametrize("current", statuses.RUN_STATUSES)
@pytest.mark.parametrize("target", statuses.RUN_STATUSES)
def test_every_run_move_follows_the_state_machine(run, current, target):
    # Every move a pause makes, a manual pause may make (approvals are tested below).
    manual = statuses.MANUAL if current == statuses.PAUSED else None
    run = _force_status(run, current, manual)
    change = RunChange(run)
    reason = {"paused_reason": statuses.MANUAL} if target == statuses.PAUSED else {}
    if target in statuses.RUN_MOVES[current]:
        change.move(target, "TEST_MOVE", **reason).commit()
        assert WorkflowRun.get_by_id(run.id).status == target
    else:
        with pytest.raises(IllegalTransition):
            change.move(target, "TEST_MOVE", **reason)
        assert WorkflowRun.get_by_id(run.id).status == current


@pytest.mark.parametrize(("current", "target"), sorted(statuses.MANUAL_PAUSE_MOVES))
def test_only_a_manual_pause_pauses_a_pending_or_waiting_run_and_unpauses(run, current, target):
    # A pause that says no reason is an approval's: the only pause a step makes
    run = _force_status(run, current, statuses.APPROVAL if current == statuses.PAUSED else None)
    with pytest.raises(IllegalTransition, match="paused for approval"):
        RunChange(run).move(target, "TEST_MOVE")
    assert WorkflowRun.get_by_id(run.id).status == current


def test_a_pause_says_why_and_leaving_it_forgets_what_it_kept(run):
    run = _force_status(run, statuses.RUNNING)
    kept = WorkflowRun.get_by_id(run.id).created_at
    RunChange(run).move(
        statuses.PAUSED,
        "WORKFLOW_PAUSED",
        paused_reason=statuses.MANUAL,
        paused_from=statuses.RUNNING,
        paused_due_at=kept,
    ).commit()
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.paused_reason, stored.paused_from, stored.paused_due_at) == (
        statuses.MANUAL,
        statuses.RUNNING,
        kept,
    )
    RunChange(stored).move(statuses.RUNNING, "WORKFLOW_UNPAUSED").commit()
    stored = WorkflowRun.get_by_id(run.id)
    assert (stored.paused_reason, stored.paused_from, stored.paused_due_at) == (None, None, None)
    RunChange(stored).move(statuses.PAUSED, "WORKFLOW_PAUSED").commit()
    assert WorkflowRun.get_by_id(run.id).paused_reason == statuses.APPROVAL


def test_nothing_leaves_a_closed_run_and_only_the_retry_leaves_a_failed_one(run):
    assert {statuses.COMPLETED, statuses.CANCELLED} == statuses.CLOSED_RUN_STATUSES
    for closed in statuses.CLOSED_RUN_STATUSES:
        assert statuses.RUN_MOVES[closed] == frozenset()
    assert {statuses.FAILED} == statuses.FINAL_RUN_STATUSES - statuses.CLOSED_RUN_STATUSES
    assert statuses.RUN_MOVES[statuses.FAILED] == {statuses.RUNNING}


def test_version_counts_events_and_timestamps_are_stamped(run):
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, "a", "task")
    change.commit()
    change = RunChange(run)
    change.move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED", output={"x": 1})
    change.update(state={"x": 1})
    change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output={"x": 1})
    change.commit()

    stored = WorkflowRun.get_by_id(run.id)
    events = events_of(run.id)
    assert stored.version == len(events) == 4
    assert [e.event_type for e in events] == [
        "WORKFLOW_STARTED",
        "STEP_STARTED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    assert stored.started_at is not None and stored.completed_at is not None
    assert stored.output == {"x": 1} and stored.state == {"x": 1}
    stored_step = StepRun.get_by_id(step_run.id)
    assert stored_step.status == statuses.COMPLETED
    assert stored_step.duration_ms is not None and stored_step.completed_at is not None


def test_a_stale_change_raises_conflict_and_writes_nothing(run):
    stale = WorkflowRun.get_by_id(run.id)
    RunChange(run).move(statuses.RUNNING, "WORKFLOW_STARTED").commit()

    with pytest.raises(RunConflict):
        RunChange(stale).move(statuses.CANCELLED, "WORKFLOW_CANCELLED").commit()

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.status == statuses.RUNNING and stored.version == 1
    assert RunEvent.select().where(RunEvent.run == run.id).count() == 1


def test_a_change_without_an_event_is_refused(run):
    with pytest.raises(ValueError):
        RunChange(run).update(state={"a": 1}).commit()


def test_illegal_step_move_is_refused(run):
    change = RunChange(run)
    change.move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, "a", "task")
    change.commit()
    step_run = StepRun.get_by_id(step_run.id)
    RunChange(run).move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED").commit()
    with pytest.raises(IllegalTransition):
        RunChange(run).move_step(step_run, statuses.RUNNING, "STEP_STARTED")


def race(run_id: str, moves: list[tuple[str, str]]) -> list[str]:
    """Each thread reads the run, then all commit their move at once; returns who won."""
    barrier = threading.Barrier(len(moves))
    results: list[str] = []

    def contend(target: str, event: str) -> None:
        with db.connection_context():
            change = RunChange(WorkflowRun.get_by_id(run_id)).move(target, event)
            barrier.wait()
            try:
                change.commit()
                results.append(target)
            except RunConflict:
                results.append("conflict")

    threads = [threading.Thread(target=contend, args=move) for move in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_concurrent_transitions_exactly_one_wins(run):
    """Two threads read the same version and race to move the run; one commits, one conflicts."""
    RunChange(run).move(statuses.RUNNING, "WORKFLOW_STARTED").commit()
    moves = [(statuses.WAITING, "WORKFLOW_WAITING"), (statuses.PAUSED, "WORKFLOW_PAUSED")]
    for _ in range(20):
        results = race(run.id, moves)

        assert results.count("conflict") == 1, results
        winner = next(r for r in results if r != "conflict")
        stored = WorkflowRun.get_by_id(run.id)
        assert stored.status == winner
        # Back to RUNNING through a legal move for the next round.
        RunChange(stored).move(statuses.RUNNING, "TEST_BACK").commit()

    stored = WorkflowRun.get_by_id(run.id)
    assert stored.version == RunEvent.select().where(RunEvent.run == run.id).count() == 41
