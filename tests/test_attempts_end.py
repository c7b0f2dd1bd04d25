"""Whatever a step does, its attempt ends (SPEC section 5): through HTTP and a real worker.

Each case once wedged a run RUNNING forever, its message retried and its step re-executed:
an exception from an expression, a result PostgreSQL cannot store, a state over the limit
measured one way and stored another, a column too short for a value. Now each fails the
attempt with its own code, and the retry policy decides.
"""

from __future__ import annotations

import pytest

from actors import recording
from harness.handlers import ODD_RESULTS, RAISED
from harness.invariants import assert_invariants
from models import statuses
from models.runs import StepRun, events_of
from tests.support import create_run_over_http, insert_definition, insert_run, wait_for_run

ONCE = {"maxAttempts": 1}


def step_runs(run_id: str) -> list[StepRun]:
    return list(StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id))


def failed_with(run_id: str, code: str, timeout: float = 10.0):
    run = wait_for_run(run_id, timeout=timeout)
    assert run.status == statuses.FAILED, (run.status, run.error)
    assert run.error["code"] == code, run.error
    assert_invariants([run_id])
    return run


def test_a_condition_over_values_it_cannot_compare_fails_its_step(client, auth, worker, clock):
    # `[1] in {}` raises TypeError (a list is not hashable): once a run stuck RUNNING.
    run_id = create_run_over_http(
        client,
        auth,
        [{"type": "condition", "name": "check", "expression": "input.a in input.b"}],
        {"a": [1], "b": {}},
    )
    run = failed_with(run_id, "STEP_ERROR")
    assert "TypeError" in run.error["message"]
    # The default policy tried it three times, each attempt ending.
    assert [s.attempt for s in step_runs(run_id)] == [3]


@pytest.mark.parametrize("kind", sorted(RAISED))
def test_any_exception_a_handler_raises_fails_the_attempt(client, auth, worker, kind):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "t",
                "handler": "raises",
                "config": {"kind": kind},
                "retry": ONCE,
            }
        ],
    )
    run = failed_with(run_id, "STEP_ERROR" if kind == "system_exit" else "TASK_FAILED")
    assert "\x00" not in run.error["message"] and len(run.error["message"]) <= 2000


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("nan", "RESULT_INVALID"),
        ("infinity", "RESULT_INVALID"),
        ("nul", "RESULT_INVALID"),
        ("surrogate", "RESULT_INVALID"),
        ("nul_key", "RESULT_INVALID"),
        ("deep", "RESULT_INVALID"),
        ("not_json", "RESULT_INVALID"),
        ("huge", "STATE_TOO_LARGE"),
    ],
)
def test_a_result_postgresql_cannot_store_fails_the_attempt(
    client, auth, worker, clock, kind, code
):
    assert kind in ODD_RESULTS
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "odd",
                "handler": "odd_result",
                "config": {"kind": kind},
                "retry": {"maxAttempts": 2, "backoffMs": 100},
            }
        ],
    )
    run = failed_with(run_id, code)
    # The retry policy decided: two attempts, both recorded, the state untouched.
    (step_run,) = step_runs(run_id)
    assert step_run.attempt == 2 and step_run.error["code"] == code
    assert run.state == {}


def test_state_is_measured_as_it_is_stored_utf8(client, auth, worker):
    # 90,000 CJK characters are 270 KB as UTF-8 but 540 KB as ASCII escapes: the API's input
    # limit and the worker's state limit measure the same way, compact UTF-8.
    run_id = create_run_over_http(
        client,
        auth,
        [
            {
                "type": "task",
                "name": "odd",
                "handler": "odd_result",
                "config": {"kind": "cjk"},
                "retry": ONCE,
            }
        ],
    )
    failed_with(run_id, "STATE_TOO_LARGE")
    small = "漢" * 80_000  # 240 KB as UTF-8: under the limit, though 480 KB escaped.
    run_id = create_run_over_http(
        client,
        auth,
        [{"type": "task", "name": "echo", "handler": "echo", "config": {"x": "{{input.s}}"}}],
        {"s": small},
    )
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED and run.state["x"] == small


def test_a_value_too_long_for_its_column_fails_the_step_not_the_worker(workspace, worker):
    # A definition stored before creation checked the length: the approval request's
    # content_key column refuses it at commit time.
    definition = insert_definition(
        workspace[0],
        [
            {"type": "task", "name": "put", "handler": "echo", "config": {"k" * 300: "text"}},
            {"type": "approval", "name": "review", "contentKey": "k" * 300},
        ],
    )
    run = insert_run(definition)
    from actors.runs import start_run

    start_run.send(run.id)
    failed = failed_with(run.id, "RESULT_INVALID")
    assert "too long" in failed.error["message"]


def test_deeply_nested_list_literals_are_refused_at_creation(client, auth):
    expression = "[" * 500 + "]" * 500 + " == []"
    response = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={
            "name": "deep",
            "version": "1",
            "steps": [{"type": "condition", "name": "c", "expression": expression}],
        },
    )
    assert response.status_code == 400
    fields = [problem["field"] for problem in response.json["error"]["details"]["fields"]]
    assert fields == ["steps[0].expression"]


def test_skipped_steps_count_towards_the_step_limit(client, auth, worker):
    # Step 0 jumps forward over 498 steps to the last, which jumps back: 500 visits a round.
    steps = [{"type": "condition", "name": "s0", "expression": "true", "trueStep": "s499"}]
    steps += [{"type": "task", "name": f"s{i}", "handler": "noop"} for i in range(1, 499)]
    steps.append({"type": "condition", "name": "s499", "expression": "true", "trueStep": "s0"})
    run_id = create_run_over_http(client, auth, steps)
    run = failed_with(run_id, "STEP_LIMIT_EXCEEDED", timeout=60)
    visits = StepRun.select().where(StepRun.run == run_id).count()
    assert visits <= recording.MAX_STEPS_PER_RUN
    assert run.steps_executed == visits
    # The run's page shows the latest 1,000 step runs and says how many there are.
    page = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    assert len(page["stepRuns"]) == 1000 and page["stepRunsTotal"] == visits
    assert page["stepRuns"][-1]["id"] == step_runs(run_id)[-1].id


def test_retry_after_the_step_limit_goes_on_without_repeating_a_step(
    client, auth, worker, monkeypatch
):
    monkeypatch.setattr(recording, "MAX_STEPS_PER_RUN", 20)
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "inc", "handler": "count"},
            {"type": "condition", "name": "again", "expression": "n < 15", "trueStep": "inc"},
        ],
    )
    failed = failed_with(run_id, "STEP_LIMIT_EXCEEDED")
    assert failed.state["n"] == 10  # 20 visits: inc, again, inc, again...
    retried = client.simulate_post(f"/v1/workflow-runs/{run_id}/retry", headers=auth)
    assert retried.status_code == 200, retried.json
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED and run.state["n"] == 15
    # Each completed `inc` added one: none ran twice, and the path is a path.
    completed_incs = [
        e
        for e in events_of(run_id)
        if e.event_type == "STEP_COMPLETED" and e.payload.get("stepName") == "inc"
    ]
    assert len(completed_incs) == 15
    assert_invariants([run_id], expect=lambda run: {statuses.COMPLETED})


def test_the_idempotency_key_is_new_for_every_visit_and_kept_across_attempts(
    client, auth, worker, clock
):
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "key", "handler": "record_attempt"},
            {"type": "task", "name": "inc", "handler": "count"},
            {"type": "condition", "name": "loop", "expression": "n < 3", "trueStep": "key"},
            {
                "type": "task",
                "name": "flaky",
                "handler": "fails_until",
                "config": {"failures": 1},
                "retry": {"maxAttempts": 3, "backoffMs": 100},
            },
        ],
    )
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED, run.error
    visits = [s for s in step_runs(run_id) if s.step_name == "key"]
    keys = [s.output["key_key"] for s in visits]
    assert keys == [s.id for s in visits] and len(set(keys)) == 3
    flaky = next(s for s in step_runs(run_id) if s.step_name == "flaky")
    assert flaky.attempt == 2  # the retried attempt ran under the same step run, so same key


def test_events_carry_a_gapless_sequence(client, auth, worker):
    run_id = create_run_over_http(
        client, auth, [{"type": "task", "name": "a", "handler": "noop"}] * 1
    )
    wait_for_run(run_id)
    listed = client.simulate_get(f"/v1/workflow-runs/{run_id}/events", headers=auth).json["data"]
    assert [event["sequence"] for event in listed] == list(range(1, len(listed) + 1))
    assert [event.id for event in events_of(run_id)] == [event["id"] for event in listed]


def test_templates_cannot_multiply_memory(client, auth, worker):
    # 2,000 five-byte templates naming a 200 KB value would render to 400 MB: refused as
    # soon as the rendering passes 256 KiB.
    config = {"copies": ["{{input.big}}"] * 2000, "text": "{{input.big}}{{input.big}}"}
    run_id = create_run_over_http(
        client,
        auth,
        [{"type": "task", "name": "t", "handler": "echo", "config": config}],
        {"big": "b" * 200_000},
    )
    run = failed_with(run_id, "TEMPLATE_TOO_LARGE")
    assert run.error["details"] == {"limit": 256 * 1024}


def test_an_llm_json_answer_nested_1000_deep_fails_the_attempt(client, auth, worker, monkeypatch):
    from models.llm_calls import LlmCall
    from tests.llm_servers import OPENAI, FakeProvider, point_at, text

    with FakeProvider(OPENAI) as server:
        point_at(monkeypatch, openai=server)
        server.script(text("[" * 1000 + "]" * 1000))
        run_id = create_run_over_http(
            client,
            auth,
            [
                {
                    "type": "llm",
                    "name": "ask",
                    "model": "gpt-4o",
                    "responseFormat": "json",
                    "messages": [{"role": "user", "content": "Answer in JSON"}],
                    "retry": ONCE,
                }
            ],
        )
        run = wait_for_run(run_id)
    assert run.status == statuses.FAILED, run.error
    assert run.error["code"] == "LLM_INVALID_JSON", run.error
    assert run.state == {}
    # The call was made and paid for: it is recorded all the same.
    assert LlmCall.select().where(LlmCall.run == run_id).count() == 1
    assert_invariants([run_id])


def test_a_completion_the_database_refuses_fails_the_step_instead(workspace, worker, monkeypatch):
    # What `storable` would have caught reaches the database, which refuses it: the attempt
    # fails with RESULT_INVALID (the step run's first, unstored move is undone), and the
    # worker's command does not fail.
    monkeypatch.setattr(recording, "storable", lambda outcome, state: outcome)
    definition = insert_definition(
        workspace[0],
        [
            {
                "type": "task",
                "name": "put",
                "handler": "odd_result",
                "config": {"kind": "nul"},
                "retry": {"maxAttempts": 1},
            }
        ],
    )
    run = insert_run(definition)
    from actors.runs import start_run

    start_run.send(run.id)
    failed = failed_with(run.id, "RESULT_INVALID")
    assert "the database refused the result" in failed.error["message"]
    (step_run,) = StepRun.select().where(StepRun.run == run.id)
    assert (step_run.status, step_run.attempt) == (statuses.FAILED, 1)
