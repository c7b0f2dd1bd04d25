"""The invariant checker the fault runs rely on: quiet on true histories, loud on broken ones."""

from __future__ import annotations

import datetime

import pytest

from harness.invariants import InvariantViolated, assert_invariants, check
from models import statuses
from models.approvals import ApprovalRequest
from models.base import utcnow
from models.ids import new_id
from models.operations import cancel_run
from models.pausing import pause_run
from models.runs import RunEvent, StepRun, WorkflowRun
from models.transitions import RunChange
from tests import run_states
from tests.api_support import wait_until
from tests.run_states import TASK
from tests.support import create_run_over_http, insert_definition, insert_run, wait_for_run

#: Every kind of step, a forward jump, a retried attempt, a signal and a decision.
EVERYTHING = [
    {"type": "task", "name": "draft", "handler": "echo", "config": {"draft": "hi"}},
    {"type": "condition", "name": "route", "expression": "input.big", "trueStep": "review"},
    {"type": "task", "name": "skipped", "handler": "noop"},
    {"type": "approval", "name": "review", "contentKey": "draft"},
    {"type": "wait", "name": "nap", "durationMs": 100},
    {"type": "external_event", "name": "pay", "signalType": "paid"},
    {
        "type": "task",
        "name": "charge",
        "handler": "fails_until",
        "config": {"failures": 1},
        "retry": {"maxAttempts": 2, "backoffMs": 100},
    },
]


def _at(run_id: str, status: str, step: str) -> bool:
    run = WorkflowRun.get_by_id(run_id)
    return run.status == status and run.current_step_name == step


def test_runs_through_every_step_type_retry_cancel_and_failure_break_no_rule(
    client, auth, worker, clock
):
    # Given runs driven by a worker: one through every step type to the end, one cancelled
    # while it waits, and one failed for good, then retried by the user to the end
    done = create_run_over_http(client, auth, EVERYTHING, input={"big": True})
    wait_until(lambda: _at(done, statuses.PAUSED, "review"))
    [request] = client.simulate_get("/v1/approval-requests", headers=auth).json["data"]
    decision = {"decision": "approved"}
    path = f"/v1/approval-requests/{request['id']}/decide"
    decided = client.simulate_post(path, json=decision, headers=auth)
    assert decided.status_code == 200, decided.text
    wait_until(lambda: _at(done, statuses.WAITING, "pay"))
    resume = {"signalType": "paid", "payload": {"paid": True}}
    resumed = client.simulate_post(f"/v1/workflow-runs/{done}/resume", json=resume, headers=auth)
    assert resumed.status_code == 200, resumed.text

    cancelled = create_run_over_http(client, auth, EVERYTHING[5:], input={})
    wait_until(lambda: _at(cancelled, statuses.WAITING, "pay"))
    client.simulate_post(f"/v1/workflow-runs/{cancelled}/cancel", headers=auth)

    once = [{**TASK, "handler": "flaky", "config": {"failures": 1}, "retry": {"maxAttempts": 1}}]
    retried = create_run_over_http(client, auth, once)
    wait_for_run(retried, (statuses.FAILED,))
    client.simulate_post(f"/v1/workflow-runs/{retried}/retry", headers=auth)

    for run_id in (done, retried):
        assert wait_for_run(run_id).status == statuses.COMPLETED

    # Then the checker finds nothing wrong with any of them, the system being idle
    expected = {done: {statuses.COMPLETED}, retried: {statuses.COMPLETED}}
    expected[cancelled] = {statuses.CANCELLED}
    assert (
        check(
            expected,
            expect=lambda run: expected[run.id],
            overdue_after=datetime.timedelta(seconds=1),
        )
        == []
    )
    assert StepRun.select().where(StepRun.run == retried).count() == 2  # the retry's new one
    recorded = {event.event_type for event in RunEvent.select(RunEvent.event_type)}
    assert recorded >= {
        "STEP_SKIPPED",
        "APPROVAL_DECIDED",
        "WORKFLOW_WAITING",
        "SIGNAL_RECEIVED",
        "STEP_RETRYING",
        "WORKFLOW_CANCELLED",
        "WORKFLOW_FAILED",
        "WORKFLOW_RETRIED",
    }


@pytest.fixture
def completed(workspace):
    """A run of two task steps completed as a worker would, with its timers cleared."""
    steps = [TASK, {**TASK, "name": "second"}]
    run = insert_run(insert_definition(workspace[0], steps))
    change = RunChange(run).move(statuses.RUNNING, "WORKFLOW_STARTED")
    first = change.start_step(0, "work", "task")
    change.commit()
    change = RunChange(run).move_step(first, statuses.COMPLETED, "STEP_COMPLETED")
    second = change.start_step(1, "second", "task")
    change.commit()
    change = RunChange(run).move_step(second, statuses.COMPLETED, "STEP_COMPLETED")
    change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output={}).commit()
    assert check([run.id]) == []
    return run


def _rules(run_id: str, **options) -> set[str]:
    return {violation.rule for violation in check([run_id], **options)}


def test_a_step_completed_twice_is_doubled(completed):
    event = RunEvent.get((RunEvent.run == completed.id) & (RunEvent.event_type == "STEP_COMPLETED"))
    RunEvent.create(
        id=event.id + "x",
        run=completed.id,
        sequence=completed.version + 1,
        step_run=event.step_run_id,
        event_type="STEP_COMPLETED",
        created_at=event.created_at,
    )
    assert {"doubled", "event_sequence", "version"} <= _rules(completed.id)


def test_an_attempt_started_twice_is_doubled(completed):
    event = RunEvent.get((RunEvent.run == completed.id) & (RunEvent.event_type == "STEP_STARTED"))
    RunEvent.create(
        id=event.id + "x",
        run=completed.id,
        sequence=completed.version + 1,
        step_run=event.step_run_id,
        event_type="STEP_STARTED",
        payload=event.payload,
        created_at=event.created_at,
    )
    WorkflowRun.update(version=WorkflowRun.version + 1).where(
        WorkflowRun.id == completed.id
    ).execute()
    assert _rules(completed.id) == {"doubled", "event_sequence"}


def test_a_version_that_is_not_the_number_of_events_is_caught(completed):
    WorkflowRun.update(version=WorkflowRun.version + 1).where(
        WorkflowRun.id == completed.id
    ).execute()
    assert _rules(completed.id) == {"version"}


def test_a_status_the_events_do_not_lead_to_is_caught(completed):
    # Set behind the state machine's back, as no code may
    WorkflowRun.update(status=statuses.RUNNING).where(WorkflowRun.id == completed.id).execute()
    assert _rules(completed.id) == {"event_sequence", "nothing_due"}


def test_events_out_of_the_state_machine_are_caught(completed):
    RunChange(completed).event("WORKFLOW_STARTED").commit()  # bypasses `move`'s check
    assert _rules(completed.id) == {"event_sequence"}


def test_a_completed_run_that_skipped_a_step_unrecorded_breaks_the_path(workspace):
    run = insert_run(insert_definition(workspace[0], [TASK, {**TASK, "name": "second"}]))
    change = RunChange(run).move(statuses.RUNNING, "WORKFLOW_STARTED")
    step_run = change.start_step(0, "work", "task")
    change.commit()
    change = RunChange(run).move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED")
    change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output={}).commit()
    assert _rules(run.id) == {"path"}


def test_a_gap_in_the_event_sequence_is_caught(completed):
    last = RunEvent.select().where(RunEvent.run == completed.id).order_by(RunEvent.sequence.desc())
    RunEvent.update(sequence=RunEvent.sequence + 1).where(RunEvent.id == last.first().id).execute()
    assert "event_order" in _rules(completed.id)


def test_the_event_order_is_the_sequence_whatever_the_clocks_said(completed):
    # The machine that wrote the first event had a clock a minute fast: nothing changes.
    first = RunEvent.get((RunEvent.run == completed.id) & (RunEvent.sequence == 1))
    later = utcnow() + datetime.timedelta(minutes=1)
    RunEvent.update(created_at=later).where(RunEvent.id == first.id).execute()
    assert _rules(completed.id) == set()


def test_runs_with_nothing_due_or_overdue_are_caught(workspace):
    stuck = insert_run(
        insert_definition(workspace[0], [TASK])
    )  # PENDING, no timer: nobody sends it
    assert _rules(stuck.id) == {"nothing_due"}
    past = utcnow() - datetime.timedelta(minutes=1)
    WorkflowRun.update(next_run_at=past).where(WorkflowRun.id == stuck.id).execute()
    assert _rules(stuck.id) == set()
    assert _rules(stuck.id, overdue_after=datetime.timedelta(seconds=5)) == {"nothing_due"}


def test_an_unexpected_status_and_a_missing_run_are_caught(completed):
    assert _rules(completed.id, expect=lambda run: {statuses.FAILED}) == {"status"}
    with pytest.raises(InvariantViolated, match="no such run"):
        assert_invariants([completed.id, "wfrun_" + "0" * 26])


def test_an_undecided_request_its_run_left_unclosed_is_caught(workspace):
    closed_run, _, _ = run_states.paused(workspace[0])
    cancel_run(closed_run.id)
    assert _rules(closed_run.id) == set()

    # Cancelled behind `cancel_run`'s back: the request stays open with nobody waiting on it
    run, step_run, _ = run_states.paused(workspace[0])
    change = RunChange(run).move_step(step_run, statuses.CANCELLED, None)
    change.move(statuses.CANCELLED, "WORKFLOW_CANCELLED").commit()
    assert _rules(run.id) == {"approvals"}

    # Closed while its run still waits on it
    waiting_run, _, waiting = run_states.paused(workspace[0])
    ApprovalRequest.update(closed_at=utcnow()).where(ApprovalRequest.id == waiting.id).execute()
    assert _rules(waiting_run.id) == {"approvals"}


def test_a_state_its_step_runs_do_not_fold_to_is_caught(completed):
    first = StepRun.get((StepRun.run == completed.id) & (StepRun.step_name == "work"))
    StepRun.update(state_updates={"total": 1}).where(StepRun.id == first.id).execute()
    assert _rules(completed.id) == {"state"}

    # Unless the run is from before step runs recorded what they merged: nothing to fold.
    WorkflowRun.update(legacy_history=True).where(WorkflowRun.id == completed.id).execute()
    assert _rules(completed.id) == set()


def test_a_rerun_s_path_starts_at_the_step_it_was_made_from(workspace):
    steps = [TASK, {**TASK, "name": "second"}]
    run = insert_run(insert_definition(workspace[0], steps), state={"kept": True})
    change = RunChange(run).move(
        statuses.RUNNING, "WORKFLOW_STARTED", {"rerunOf": new_id("wfrun"), "fromStep": "second"}
    )
    second = change.start_step(1, "second", "task")
    change.commit()
    change = RunChange(run).move_step(second, statuses.COMPLETED, "STEP_COMPLETED", output={})
    change.move(statuses.COMPLETED, "WORKFLOW_COMPLETED", output={"kept": True}).commit()
    assert _rules(run.id) == set()

    RunEvent.update(payload={}).where(
        (RunEvent.run == run.id) & (RunEvent.event_type == "WORKFLOW_STARTED")
    ).execute()
    assert _rules(run.id) == {"path"}  # a run made from its definition starts at step 0


def test_a_pause_kept_true_breaks_no_rule_and_one_broken_is_caught(workspace):
    # A run paused while its step ran, the step then recorded and a jump's skip with it
    steps = [TASK, {**TASK, "name": "skipped"}, {**TASK, "name": "last"}]
    run, step_run = run_states.running(workspace[0], steps)
    paused = pause_run(run.id)
    change = RunChange(paused).move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED")
    change.skip_step(1, "skipped", "task")
    change.update(current_step_index=2, current_step_name="last", current_step_run_id=None)
    change.commit()
    assert _rules(run.id) == set()

    # A timer set on it: the clock would look at a run nobody may move
    WorkflowRun.update(next_run_at=utcnow()).where(WorkflowRun.id == run.id).execute()
    assert _rules(run.id) == {"paused"}
    WorkflowRun.update(next_run_at=None).where(WorkflowRun.id == run.id).execute()

    # A step started while it is paused
    stored = WorkflowRun.get_by_id(run.id)
    change = RunChange(stored)
    change.start_step(2, "last", "task")
    change.commit()
    assert _rules(run.id) == {"paused", "event_sequence"}


def test_an_approval_pause_taken_for_a_manual_one_is_caught(workspace):
    # An unpause of a run that waits on an approval: only its decision moves it
    run, _, _ = run_states.paused(workspace[0])
    RunChange(run).move(statuses.RUNNING, "WORKFLOW_UNPAUSED", {"status": "RUNNING"}).commit()
    assert "event_sequence" in _rules(run.id)

    # A PAUSED run that says no reason
    other, _, _ = run_states.paused(workspace[0])
    WorkflowRun.update(paused_reason=None).where(WorkflowRun.id == other.id).execute()
    assert _rules(other.id) == {"paused"}
