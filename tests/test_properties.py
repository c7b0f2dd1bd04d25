"""Generated definitions, inputs, handler behaviours and signals on the real workers: every run
ends where it should, once (`harness.invariants`), and no handler ran twice for one attempt.

The profile is small by default so that `.ci/run` stays fast; `HYPOTHESIS_PROFILE=long` (see
`bench/README.md`) runs many more examples.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import recording
from harness.handlers import ODD_RESULTS, PROBED, RAISED
from harness.invariants import assert_invariants
from models import statuses
from models.documents import MAX_DOCUMENT_BYTES, serialized_size, unstorable
from models.runs import WorkflowRun
from tests.support import post_run
from tests.test_broker_signals import publish, signal

settings.register_profile(
    "ci",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

#: Visits a generated run may make before STEP_LIMIT_EXCEEDED: loops end quickly.
STEP_LIMIT = 40
SIGNAL_TYPES = ("a", "b")

json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
retry = st.fixed_dictionaries({"maxAttempts": st.integers(1, 2), "backoffMs": st.just(100)})


def task_step() -> st.SearchStrategy[dict]:
    config = st.one_of(
        st.fixed_dictionaries({"mode": st.just("return"), "value": json_values}),
        st.fixed_dictionaries(
            {"mode": st.just("odd"), "kind": st.sampled_from(sorted(ODD_RESULTS))}
        ),
        st.fixed_dictionaries({"mode": st.just("raise"), "kind": st.sampled_from(sorted(RAISED))}),
        st.fixed_dictionaries({"mode": st.just("sleep"), "seconds": st.sampled_from([0.05, 0.4])}),
    )
    return st.fixed_dictionaries(
        {"type": st.just("task"), "handler": st.just("probe"), "config": config},
        optional={"retry": retry, "timeoutMs": st.just(200)},
    )


def wait_step() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"type": st.just("wait"), "durationMs": st.integers(0, 300)},
        optional={"signalType": st.sampled_from(SIGNAL_TYPES)},
    )


def event_step() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "type": st.just("external_event"),
            "signalType": st.sampled_from(SIGNAL_TYPES),
            "timeoutMs": st.integers(100, 400),
        },
        optional={"retry": retry},
    )


def approval_step() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "type": st.just("approval"),
            "contentKey": st.sampled_from(["probed", "missing"]),
            "timeoutMs": st.integers(100, 300),
        }
    )


def literal() -> st.SearchStrategy[str]:
    return st.sampled_from(["1", "0", "'x'", "true", "null", "[]", "[1, 2]", "input.n", "probed"])


def condition_step() -> st.SearchStrategy[dict]:
    comparison = st.tuples(
        st.sampled_from(["input.n", "input.v", "probed", "state.missing"]),
        st.sampled_from(["==", "!=", "<", ">=", "in", "not in"]),
        literal(),
    ).map(" ".join)
    expression = st.one_of(
        comparison, st.tuples(comparison, st.sampled_from(["and", "or"]), comparison).map(" ".join)
    )
    return st.fixed_dictionaries({"type": st.just("condition"), "expression": expression})


@st.composite
def definitions(draw) -> list[dict]:
    kinds = st.one_of(task_step(), wait_step(), event_step(), approval_step(), condition_step())
    steps = draw(st.lists(kinds, min_size=1, max_size=6))
    names = [f"s{index}" for index in range(len(steps))]
    for index, step in enumerate(steps):
        step["name"] = names[index]
        if step["type"] == "condition":
            for branch in ("trueStep", "falseStep"):
                if draw(st.booleans()):
                    step[branch] = draw(st.sampled_from(names))  # backward jumps make loops
    return steps


signals = st.lists(
    st.tuples(
        # "foreign": a broker signal naming the run under another workspace (dead-lettered).
        st.sampled_from(["rest", "broker", "broker_twice", "foreign"]),
        st.sampled_from(SIGNAL_TYPES),
        st.floats(0, 0.5),
    ),
    max_size=3,
)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


#: Input values at and past the limits: nesting (in the body, the input object is level 2)
#: and size.
edge_values = st.sampled_from(
    [_nested(62), _nested(63), "x" * 200_000, "x" * (300 * 1024), "漢" * 90_000]
)
run_input = st.fixed_dictionaries(
    {"n": st.integers(-3, 3), "v": json_values}, optional={"edge": edge_values}
)


def input_refusal(document: dict) -> tuple[int, str] | None:
    """The status and code the API answers an input with, when it refuses it."""
    if unstorable({"input": document}) is not None:  # NUL, lone surrogates, a body too deep
        return 400, "VALIDATION_ERROR"
    if serialized_size(document) > MAX_DOCUMENT_BYTES:
        return 413, "PAYLOAD_TOO_LARGE"
    return None


@settings(settings.get_profile(PROFILE))
@given(steps=definitions(), inputs=st.lists(run_input, min_size=1, max_size=2), sent=signals)
def test_generated_runs_end_where_they_should_once(
    client, auth, worker, clock, monkeypatch, steps, inputs, sent
):
    monkeypatch.setattr(recording, "MAX_STEPS_PER_RUN", STEP_LIMIT)
    created = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "generated", "version": str(time.monotonic_ns()), "steps": steps},
    )
    other_workspace = "ws_" + "0" * 26  # no such workspace: the message is dead-lettered
    if unstorable(steps) is not None:
        # NUL characters and lone surrogates are refused at the edge, with the envelope.
        assert created.status_code == 400, created.json
        assert created.json["error"]["code"] == "VALIDATION_ERROR"
        return
    assert created.status_code == 201, created.json
    run_ids = []
    for run_input_value in inputs:
        response = post_run(client, auth, created.json["data"]["id"], input=run_input_value)
        refusal = input_refusal(run_input_value)
        if refusal is not None:
            assert (response.status_code, response.json["error"]["code"]) == refusal
            continue
        assert response.status_code == 201, response.json
        run_ids.append(response.json["data"]["id"])
    PROBED.clear()

    started = time.monotonic()
    for how, signal_type, at in sorted(sent, key=lambda item: item[2]):
        time.sleep(max(0.0, at - (time.monotonic() - started)))
        for run_id in run_ids:
            if how == "rest":
                client.simulate_post(
                    f"/v1/workflow-runs/{run_id}/resume",
                    headers=auth,
                    json={"signalType": signal_type, "payload": {"via": "rest"}},
                )
            elif how == "foreign":
                publish(signal(run_id, signal_type, {"via": how}, workspaceId=other_workspace))
            else:
                message = signal(run_id, signal_type, {"via": how})
                for _ in range(2 if how == "broker_twice" else 1):
                    publish(message)

    deadline = time.monotonic() + 30
    while True:
        found = [WorkflowRun.get_by_id(run_id).status for run_id in run_ids]
        if all(status in statuses.FINAL_RUN_STATUSES for status in found):
            break
        assert time.monotonic() < deadline, f"runs still {found} for {steps}"
        time.sleep(0.05)

    assert_invariants(run_ids, expect=lambda run: statuses.FINAL_RUN_STATUSES)
    assert len(PROBED) == len(set(PROBED)), "a handler ran twice for one attempt"
    for run_id in run_ids:
        run = WorkflowRun.get_by_id(run_id)
        if run.status == statuses.FAILED:
            assert run.error["code"] and run.error["message"]
        assert run.state.get("via") != "foreign"  # another workspace's signal never lands
