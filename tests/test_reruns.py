"""POST /v1/workflow-runs/:id/rerun (SPEC section 8), through HTTP, a worker and PostgreSQL.

A rerun is a new run of the original's definition that starts at `fromStep` with the state the
original had when it last entered that step, merged with `state`. Each test runs an original to
its end, reruns it, and checks the state the rerun starts with against what the original had
there: through loops, skipped steps, waits and signals, approvals, llm steps and retries.
"""

from __future__ import annotations

import pytest

from actors.steps.outcomes import Completed, Failed
from actors.steps.step_type import StepType
from actors.steps.types import register, unregister
from harness.invariants import assert_invariants
from models import statuses
from models.runs import StepRun, WorkflowRun, events_of
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, wait_until
from tests.llm_servers import text
from tests.rerun_support import ADDS, SEND, assert_untouched, new_run_of, post_rerun, run_to_end
from tests.support import create_run_over_http, wait_for_run


def _step_names(run_id: str) -> list[str]:
    rows = StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id)
    return [row.step_name for row in rows]


def _at(run_id: str, status: str, step: str) -> bool:
    run = WorkflowRun.get_by_id(run_id)
    return run.status == status and run.current_step_name == step


# A rerun and its run


def test_a_rerun_starts_at_the_step_with_the_state_the_run_had_there(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS, input={"start": 1})
    original = WorkflowRun.get_by_id(original_id)
    assert original.output == {"total": 11}

    made = new_run_of(post_rerun(client, auth, original_id, fromStep="second"), original_id)

    assert made["state"] == {"total": 3}  # start 1, plus 2: what "second" was entered with
    assert made["input"] == {"start": 1}
    assert (made["currentStepIndex"], made["currentStepName"]) == (1, "second")
    assert made["definitionId"] == original.definition_id
    assert TIMESTAMP.match(made["createdAt"]) and made["startedAt"] is None
    rerun = wait_for_run(made["id"])
    assert rerun.status == statuses.COMPLETED and rerun.output == {"total": 11}
    assert _step_names(rerun.id) == ["second", "third"]
    started, first_step = events_of(rerun.id)[:2]
    assert started.event_type == "WORKFLOW_STARTED"
    assert started.payload == {"rerunOf": original_id, "fromStep": "second"}
    assert (first_step.event_type, first_step.payload["stepName"]) == ("STEP_STARTED", "second")
    assert_untouched(original)
    got = client.simulate_get(f"/v1/workflow-runs/{rerun.id}", headers=auth).json["data"]
    assert got["rerunOf"] == original_id and got["stepRunsTotal"] == 2
    listed = client.simulate_get("/v1/workflow-runs", headers=auth).json["data"]
    assert {run["id"]: run["rerunOf"] for run in listed} == {
        rerun.id: original_id,
        original_id: None,
    }
    assert_invariants([original_id, rerun.id], expect=lambda run: {statuses.COMPLETED})


def test_state_is_merged_over_the_entry_state_and_input_replaces_the_input(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS, input={"start": 1})

    body = {"fromStep": "second", "state": {"total": 100, "note": "again"}, "input": {"start": 7}}
    made = new_run_of(post_rerun(client, auth, original_id, **body), original_id)

    assert made["state"] == {"total": 100, "note": "again"}
    assert made["input"] == {"start": 7}
    rerun = wait_for_run(made["id"])
    assert rerun.output == {"total": 108, "note": "again"}
    assert WorkflowRun.get_by_id(original_id).output == {"total": 11}


def test_a_rerun_from_the_first_step_starts_as_a_new_run_would(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS, input={"start": 1})

    made = new_run_of(post_rerun(client, auth, original_id, fromStep="first"), original_id)

    assert made["state"] == {}
    stored = WorkflowRun.get_by_id(made["id"])
    assert stored.initial_state is None  # `{}` costs nothing
    assert wait_for_run(made["id"]).output == {"total": 11}


def test_reruns_of_reruns_start_from_what_the_rerun_had(client, auth, worker):
    original_id = run_to_end(client, auth, ADDS, input={"start": 1})
    first = new_run_of(
        post_rerun(client, auth, original_id, fromStep="second", state={"x": 1}), original_id
    )
    assert wait_for_run(first["id"]).output == {"total": 11, "x": 1}

    second = new_run_of(post_rerun(client, auth, first["id"], fromStep="third"), first["id"])

    assert second["state"] == {"total": 6, "x": 1}
    assert wait_for_run(second["id"]).output == {"total": 11, "x": 1}
    # The first rerun never entered "first": it started at "second".
    assert_error(post_rerun(client, auth, first["id"], fromStep="first"), 400, "VALIDATION_ERROR")
    third = new_run_of(
        post_rerun(client, auth, second["id"], fromStep="third", state={"total": 0}), second["id"]
    )
    assert third["state"] == {"total": 0, "x": 1}
    runs = [original_id, first["id"], second["id"], third["id"]]
    wait_for_run(third["id"])
    assert_invariants(runs, expect=lambda run: {statuses.COMPLETED})


# Loops, conditions, waits, signals, approvals, llm steps, retries

LOOP = [
    {"type": "task", "name": "count", "handler": "count"},
    {"type": "condition", "name": "again", "expression": "state.n < 3", "trueStep": "count"},
    {"type": "task", "name": "done", "handler": "echo", "config": {"done": True}},
]


def test_a_step_entered_in_a_loop_is_rerun_from_its_last_entry(client, auth, worker):
    original_id = run_to_end(client, auth, LOOP)
    assert _step_names(original_id) == ["count", "again"] * 3 + ["done"]

    from_count = new_run_of(post_rerun(client, auth, original_id, fromStep="count"), original_id)
    from_again = new_run_of(post_rerun(client, auth, original_id, fromStep="again"), original_id)
    from_done = new_run_of(post_rerun(client, auth, original_id, fromStep="done"), original_id)

    assert from_count["state"] == {"n": 2}
    assert from_again["state"] == {"n": 3}
    # A condition's output ({result, nextStep}) is its step run's, never the state's.
    assert from_done["state"] == {"n": 3}
    assert wait_for_run(from_count["id"]).output == {"n": 3, "done": True}
    assert _step_names(from_count["id"]) == ["count", "again", "done"]
    assert wait_for_run(from_again["id"]).output == {"n": 3, "done": True}


def test_a_step_a_condition_skipped_was_not_reached(client, auth, worker):
    steps = [
        {"type": "task", "name": "a", "handler": "echo", "config": {"a": 1}},
        {"type": "condition", "name": "jump", "expression": "true", "trueStep": "c"},
        {"type": "task", "name": "b", "handler": "echo", "config": {"b": 1}},
        {"type": "task", "name": "c", "handler": "echo", "config": {"c": 1}},
    ]
    original_id = run_to_end(client, auth, steps)
    skipped = StepRun.get((StepRun.run == original_id) & (StepRun.step_name == "b"))
    assert skipped.status == statuses.SKIPPED

    error = assert_error(
        post_rerun(client, auth, original_id, fromStep="b"), 400, "VALIDATION_ERROR", "fromStep"
    )
    assert "never entered" in error["message"]
    assert_error(
        post_rerun(client, auth, original_id, fromStep="z"), 400, "VALIDATION_ERROR", "fromStep"
    )
    made = new_run_of(post_rerun(client, auth, original_id, fromStep="c"), original_id)
    assert made["state"] == {"a": 1}
    assert WorkflowRun.select().count() == 2  # the refused ones created nothing


def test_waits_and_signals_merge_their_payloads_but_not_their_records(client, auth, worker, clock):
    steps = [
        {"type": "wait", "name": "nap", "durationMs": 20},
        {"type": "external_event", "name": "pay", "signalType": "paid"},
        {"type": "wait", "name": "hold", "durationMs": 60000, "signalType": "hurry"},
        {"type": "task", "name": "ship", "handler": "echo", "config": {"shipped": True}},
    ]
    original_id = create_run_over_http(client, auth, steps)
    wait_until(lambda: _at(original_id, statuses.WAITING, "pay"))
    resume = {"signalType": "paid", "payload": {"amount": 5}}
    path = f"/v1/workflow-runs/{original_id}/resume"
    assert client.simulate_post(path, json=resume, headers=auth).status_code == 200
    wait_until(lambda: _at(original_id, statuses.WAITING, "hold"))
    hurry = {"signalType": "hurry", "payload": {"rushed": True}}
    assert client.simulate_post(path, json=hurry, headers=auth).status_code == 200
    assert wait_for_run(original_id).output == {"amount": 5, "rushed": True, "shipped": True}

    from_hold = new_run_of(post_rerun(client, auth, original_id, fromStep="hold"), original_id)
    from_ship = new_run_of(post_rerun(client, auth, original_id, fromStep="ship"), original_id)
    from_pay = new_run_of(post_rerun(client, auth, original_id, fromStep="pay"), original_id)

    assert from_hold["state"] == {"amount": 5}
    assert from_ship["state"] == {"amount": 5, "rushed": True}
    assert from_pay["state"] == {}
    # The rerun waits for a signal of its own: the original's was the original's.
    wait_until(lambda: _at(from_pay["id"], statuses.WAITING, "pay"))
    again = {"signalType": "paid", "payload": {"amount": 6}}
    resumed = client.simulate_post(
        f"/v1/workflow-runs/{from_pay['id']}/resume", json=again, headers=auth
    )
    assert resumed.status_code == 200
    wait_until(lambda: _at(from_pay["id"], statuses.WAITING, "hold"))
    assert WorkflowRun.get_by_id(from_pay["id"]).state == {"amount": 6}


WRITE = {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}}
REVIEW = {"type": "approval", "name": "review", "contentKey": "draft"}


def _decide(client, auth, run_id: str, body: dict) -> None:
    wait_until(lambda: _at(run_id, statuses.PAUSED, "review"))
    pending = client.simulate_get(
        "/v1/approval-requests", params={"pending": "true"}, headers=auth
    ).json["data"]
    [request] = [item for item in pending if item["workflowRunId"] == run_id]
    path = f"/v1/approval-requests/{request['id']}/decide"
    assert client.simulate_post(path, json=body, headers=auth).status_code == 200


def test_an_approval_s_record_and_edited_content_are_in_the_state_after_it(client, auth, worker):
    original_id = create_run_over_http(client, auth, [WRITE, REVIEW, SEND])
    decision = {"decision": "edited", "editedContent": "v2", "decidedBy": "ann"}
    _decide(client, auth, original_id, decision)
    original = wait_for_run(original_id)
    assert original.status == statuses.COMPLETED

    from_send = new_run_of(post_rerun(client, auth, original_id, fromStep="send"), original_id)
    from_review = new_run_of(post_rerun(client, auth, original_id, fromStep="review"), original_id)

    record = original.state["review"]
    assert record["decision"] == "edited" and record["decidedBy"] == "ann"
    assert from_send["state"] == {"draft": "v2", "review": record}
    assert from_review["state"] == {"draft": "v1"}
    # Rerun from the approval, it asks again, about the content it was entered with.
    _decide(client, auth, from_review["id"], {"decision": "approved"})
    rerun = wait_for_run(from_review["id"])
    assert rerun.state["draft"] == "v1" and rerun.state["review"]["decision"] == "approved"


def test_a_run_retried_after_a_rejection_is_rerun_from_its_last_entry(client, auth, worker):
    original_id = create_run_over_http(client, auth, [WRITE, REVIEW, SEND])
    _decide(client, auth, original_id, {"decision": "rejected", "decidedBy": "bo"})
    failed = wait_for_run(original_id)
    assert failed.status == statuses.FAILED and failed.error["code"] == "APPROVAL_REJECTED"
    rejection = failed.state["review"]

    # Rerun from the FAILED run: the state it entered review with.
    from_failed = new_run_of(post_rerun(client, auth, original_id, fromStep="review"), original_id)
    assert from_failed["state"] == {"draft": "v1"}
    assert_error(post_rerun(client, auth, original_id, fromStep="send"), 400, "VALIDATION_ERROR")

    retried = client.simulate_post(f"/v1/workflow-runs/{original_id}/retry", headers=auth)
    assert retried.status_code == 200
    _decide(client, auth, original_id, {"decision": "approved", "decidedBy": "cy"})
    done = wait_for_run(original_id)
    assert done.status == statuses.COMPLETED
    assert _step_names(original_id) == ["write", "review", "review", "send"]

    # The last entry into review came after the rejected attempt had recorded its decision.
    from_review = new_run_of(post_rerun(client, auth, original_id, fromStep="review"), original_id)
    from_send = new_run_of(post_rerun(client, auth, original_id, fromStep="send"), original_id)
    assert from_review["state"] == {"draft": "v1", "review": rejection}
    assert from_send["state"] == {"draft": "v1", "review": done.state["review"]}
    assert from_send["state"]["review"]["decidedBy"] == "cy"


def run_tally(step: dict, ctx) -> Completed | Failed:
    """Fails its first attempt, keeping an update; the next completes with an output of its own."""
    if ctx.attempt == 1:
        return Failed("NOT_YET", "the first attempt fails", updates={"tried": ctx.attempt})
    return Completed(updates={"counted": ctx.state["tried"] + 1}, output={"note": "its own"})


TALLY = StepType(
    name="tally", description="Fails once, keeping an update.", fields={}, run=run_tally
)


@pytest.fixture
def tally():
    register(TALLY)
    yield TALLY
    unregister(TALLY.name)


def test_what_a_failed_attempt_merged_is_in_the_state_after_its_step(
    client, auth, worker, clock, tally
):
    steps = [
        {"type": "tally", "name": "tally", "retry": {"maxAttempts": 2, "backoffMs": 100}},
        {"type": "task", "name": "after", "handler": "echo", "config": {"after": True}},
    ]
    original_id = run_to_end(client, auth, steps)
    step_run = StepRun.get((StepRun.run == original_id) & (StepRun.step_name == "tally"))
    assert step_run.attempt == 2 and step_run.output == {"note": "its own"}
    assert step_run.state_updates == {"tried": 1, "counted": 2}

    from_after = new_run_of(post_rerun(client, auth, original_id, fromStep="after"), original_id)
    from_tally = new_run_of(post_rerun(client, auth, original_id, fromStep="tally"), original_id)

    assert from_after["state"] == {"tried": 1, "counted": 2}
    assert from_tally["state"] == {}
    assert wait_for_run(from_tally["id"]).output == {"tried": 1, "counted": 2, "after": True}


def test_an_llm_answer_is_in_the_state_under_its_output_key(client, auth, worker, openai):
    openai.script(text("Spam, clearly."), text("Ham, this time."))
    steps = [
        {"type": "task", "name": "load", "handler": "echo", "config": {"mail": "WIN"}},
        {
            "type": "llm",
            "name": "classify",
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Classify: {{state.mail}}"}],
            "outputKey": "verdict",
        },
        {"type": "task", "name": "file", "handler": "echo", "config": {"filed": True}},
    ]
    original_id = run_to_end(client, auth, steps)
    output = StepRun.get((StepRun.run == original_id) & (StepRun.step_name == "classify")).output
    assert output["result"] == "Spam, clearly." and output["outputKey"] == "verdict"

    from_file = new_run_of(post_rerun(client, auth, original_id, fromStep="file"), original_id)
    from_classify = new_run_of(
        post_rerun(client, auth, original_id, fromStep="classify"), original_id
    )

    assert from_file["state"] == {"mail": "WIN", "verdict": "Spam, clearly."}
    assert from_classify["state"] == {"mail": "WIN"}
    rerun = wait_for_run(from_classify["id"])
    assert rerun.output == {"mail": "WIN", "verdict": "Ham, this time.", "filed": True}
    assert len(openai.requests) == 2


def test_a_cancelled_run_is_rerun_from_the_step_it_was_cancelled_at(
    client, auth, workspace, worker
):
    steps = [WRITE, {"type": "external_event", "name": "pay", "signalType": "paid"}, SEND]
    original_id = create_run_over_http(client, auth, steps)
    wait_until(lambda: _at(original_id, statuses.WAITING, "pay"))
    client.simulate_post(f"/v1/workflow-runs/{original_id}/cancel", headers=auth)

    made = new_run_of(post_rerun(client, auth, original_id, fromStep="pay"), original_id)

    assert made["state"] == {"draft": "v1"}
    assert_error(post_rerun(client, auth, original_id, fromStep="send"), 400, "VALIDATION_ERROR")
    never_started = run_states.cancelled(workspace[0])  # cancelled while PENDING
    assert_error(
        post_rerun(client, auth, never_started.id, fromStep="work"), 400, "VALIDATION_ERROR"
    )
