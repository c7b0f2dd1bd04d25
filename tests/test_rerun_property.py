"""Generated definitions of task and condition steps, loops included, run by the real worker:
for every step a run entered, a rerun from it starts with exactly the state the run had when it
last entered that step (merged with a generated `state`), and so does a rerun of that rerun.

The state each task step was entered with is recorded by its handler as the run goes
(`harness.handlers.ENTRY_STATES`); a condition changes no state, so it was entered with the
state the step before it left. The rerun's own first step, when a task, records what the worker
handed it, which must be the same.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from actors import recording
from harness.handlers import ENTRY_STATES
from harness.invariants import assert_invariants
from models import statuses
from models.runs import StepRun, WorkflowRun
from tests.support import post_run, wait_for_run
from tests.test_properties import PROFILE

#: Visits a generated run may make before STEP_LIMIT_EXCEEDED (FAILED, and rerun all the same).
STEP_LIMIT = 30
KEYS = ("a", "b", "c")

values = st.integers(-5, 5) | st.sampled_from(["x", None, True])


def task_step() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "type": st.just("task"),
            "handler": st.just("remember"),
            "config": st.fixed_dictionaries(
                {"set": st.dictionaries(st.sampled_from(KEYS), values, max_size=2)}
            ),
        }
    )


def condition_step() -> st.SearchStrategy[dict]:
    comparison = st.one_of(
        st.integers(1, 4).map(lambda n: f"state.visits < {n}"),
        st.tuples(st.sampled_from(KEYS), st.sampled_from(["==", "!="]), st.integers(-5, 5)).map(
            lambda parts: f"state.{parts[0]} {parts[1]} {parts[2]}"
        ),
    )
    return st.fixed_dictionaries({"type": st.just("condition"), "expression": comparison})


@st.composite
def definitions(draw) -> list[dict]:
    steps = draw(st.lists(task_step() | condition_step(), min_size=1, max_size=6))
    names = [f"s{index}" for index in range(len(steps))]
    for name, step in zip(names, steps, strict=True):
        step["name"] = name
        if step["type"] == "condition":
            for branch in ("trueStep", "falseStep"):
                if draw(st.booleans()):
                    step[branch] = draw(st.sampled_from(names))  # backward jumps make loops
    return steps


overrides = st.dictionaries(st.sampled_from(KEYS), values, max_size=2)


def _last_entries(run_id: str, started_with: dict) -> dict[str, dict]:
    """The state the run had when it last entered each step it entered, by step name, from
    what its handlers saw."""
    state = dict(started_with)
    entries: dict[str, dict] = {}
    visits = StepRun.select().where(StepRun.run == run_id).order_by(StepRun.id)
    for visit in visits:
        if visit.status == statuses.SKIPPED:
            continue
        if visit.step_type == "task":
            assert ENTRY_STATES[visit.id] == state, "the handler saw another state"
        entries[visit.step_name] = dict(state)
        if visit.status == statuses.COMPLETED and visit.step_type == "task":
            state.update(visit.output)
    assert state == WorkflowRun.get_by_id(run_id).state
    return entries


def _rerun_each(client, auth, run_id: str, started_with: dict, extra: dict) -> list[str]:
    """Rerun `run_id` from every step it entered; check each rerun's start. The reruns' ids."""
    made = []
    for step_name, entered_with in _last_entries(run_id, started_with).items():
        body = {"fromStep": step_name, "state": extra}
        result = client.simulate_post(f"/v1/workflow-runs/{run_id}/rerun", json=body, headers=auth)
        assert result.status_code == 201, result.text
        expected = {**entered_with, **extra}
        assert result.json["data"]["state"] == expected, step_name
        rerun = wait_for_run(result.json["data"]["id"], timeout=20)
        assert rerun.status in statuses.FINAL_RUN_STATUSES
        first = StepRun.select().where(StepRun.run == rerun.id).order_by(StepRun.id).first()
        assert first.step_name == step_name
        if first.step_type == "task":
            assert ENTRY_STATES[first.id] == expected, "the worker handed over another state"
        made.append(rerun.id)
    return made


@settings(settings.get_profile(PROFILE))
@given(steps=definitions(), extra=overrides, deeper=overrides)
def test_a_rerun_from_any_step_entered_starts_with_the_state_of_its_last_entry(
    client, auth, worker, monkeypatch, steps, extra, deeper
):
    monkeypatch.setattr(recording, "MAX_STEPS_PER_RUN", STEP_LIMIT)
    created = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "generated", "version": str(time.monotonic_ns()), "steps": steps},
    )
    assert created.status_code == 201, created.json
    started = post_run(client, auth, created.json["data"]["id"])
    assert started.status_code == 201, started.json
    original = wait_for_run(started.json["data"]["id"], timeout=20)
    assert original.status in (statuses.COMPLETED, statuses.FAILED), original.error

    reruns = _rerun_each(client, auth, original.id, {}, extra)
    # And a rerun of a rerun, which started from a state of its own.
    first = WorkflowRun.get_by_id(reruns[0])
    deeper_reruns = _rerun_each(client, auth, first.id, first.initial_state or {}, deeper)

    assert_invariants(
        [original.id, *reruns, *deeper_reruns], expect=lambda run: statuses.FINAL_RUN_STATUSES
    )
