"""Steps as Stevora's documentation writes them (SPEC section 14), through HTTP and a worker:
a resume ending a wait that names no signal, both wait fields, timestamps without a zone,
fractional numbers and condition paths with `-`, `$` and spaces.
"""

from __future__ import annotations

import datetime

import pytest

from actors.steps.fields import MAX_DURATION_MS
from models import statuses
from models.base import utcnow
from models.runs import StepRun, WorkflowRun
from tests.support import create_run_over_http, wait_for_run


def define(client, auth, steps):
    body = {"name": "stevora", "version": str(utcnow().timestamp()), "steps": steps}
    return client.simulate_post("/v1/workflow-definitions", headers=auth, json=body)


def test_a_resume_ends_a_wait_that_names_no_signal(client, auth, worker, clock):
    steps = [
        {"type": "wait", "name": "cooling-off", "durationMs": 3_600_000},
        {"type": "task", "name": "done", "handler": "noop"},
    ]
    run_id = create_run_over_http(client, auth, steps)
    wait_for_run(run_id, (statuses.WAITING,))

    resumed = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume",
        headers=auth,
        json={"signalType": "customer.confirmed", "payload": {"confirmed": True}},
    )

    assert resumed.status_code == 200, resumed.json
    run = wait_for_run(run_id)
    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"confirmed": True}
    wait = StepRun.get((StepRun.run == run_id) & (StepRun.step_name == "cooling-off"))
    assert wait.output["payload"] == {"confirmed": True}


def test_a_wait_with_a_signal_type_still_takes_only_that_one(client, auth, worker):
    steps = [{"type": "wait", "name": "w", "durationMs": 3_600_000, "signalType": "go"}]
    run_id = create_run_over_http(client, auth, steps)
    wait_for_run(run_id, (statuses.WAITING,))

    refused = client.simulate_post(
        f"/v1/workflow-runs/{run_id}/resume", headers=auth, json={"signalType": "stop"}
    )

    assert refused.status_code == 409
    assert "'go'" in refused.json["error"]["message"]
    assert WorkflowRun.get_by_id(run_id).status == statuses.WAITING


def _iso(moment: datetime.datetime, zone: bool = True) -> str:
    text = moment.replace(microsecond=0).isoformat()
    return text + "Z" if zone else text


@pytest.mark.parametrize(
    "until",
    [
        _iso(utcnow() - datetime.timedelta(hours=1), zone=False),
        (utcnow() - datetime.timedelta(days=2)).date().isoformat(),
        _iso(utcnow() - datetime.timedelta(seconds=5)),
    ],
    ids=["no zone", "a date", "with a zone"],
)
def test_until_timestamp_wins_over_duration_ms(client, auth, worker, until):
    steps = [{"type": "wait", "name": "w", "durationMs": 3_600_000, "untilTimestamp": until}]

    run = wait_for_run(create_run_over_http(client, auth, steps))

    assert run.status == statuses.COMPLETED, run.error


def test_a_timestamp_without_a_zone_is_utc(client, auth, worker):
    later = (utcnow() + datetime.timedelta(hours=2)).replace(microsecond=0)
    steps = [{"type": "wait", "name": "w", "untilTimestamp": later.isoformat()}]

    run = wait_for_run(create_run_over_http(client, auth, steps), (statuses.WAITING,))

    assert run.next_run_at == later


def test_fractional_numbers_are_stored_rounded_down(client, auth):
    steps = [
        {
            "type": "task",
            "name": "charge",
            "handler": "noop",
            "timeoutMs": 1500.5,
            "retry": {"backoffMs": 150.5},
        },
        {"type": "wait", "name": "w", "durationMs": 1500.5},
        {
            "type": "llm",
            "name": "ask",
            "model": "gpt-4o",
            "maxTokens": 100.5,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ]

    created = define(client, auth, steps)

    assert created.status_code == 201, created.json
    charge, wait, ask = created.json["data"]["steps"]
    assert (charge["timeoutMs"], charge["retry"]["backoffMs"]) == (1500, 150)
    assert wait["durationMs"] == 1500 and ask["maxTokens"] == 100
    fetched = client.simulate_get(
        f"/v1/workflow-definitions/{created.json['data']['id']}", headers=auth
    )
    assert fetched.json["data"]["steps"] == created.json["data"]["steps"]


@pytest.mark.parametrize(
    ("number", "field"),
    [({"timeoutMs": 0.5}, "timeoutMs"), ({"maxTokens": 0.99}, "maxTokens")],
)
def test_a_fraction_rounded_below_the_minimum_is_refused(client, auth, number, field):
    step = {
        "type": "llm",
        "name": "ask",
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        **number,
    }
    refused = define(client, auth, [step])
    assert refused.status_code == 400
    assert refused.json["error"]["details"]["fields"] == [
        {"field": f"steps[0].{field}", "message": "must be at least 1"}
    ]


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ({"timeoutMs": MAX_DURATION_MS + 0.5}, "timeoutMs"),
        ({"retry": {"backoffMs": MAX_DURATION_MS + 0.5}}, "retry.backoffMs"),
    ],
)
def test_a_fraction_above_the_maximum_is_refused_though_it_rounds_down_to_it(
    client, auth, number, field
):
    step = {"type": "task", "name": "charge", "handler": "noop", **number}
    refused = define(client, auth, [step])
    assert refused.status_code == 400
    assert refused.json["error"]["details"]["fields"] == [
        {"field": f"steps[0].{field}", "message": f"must be at most {MAX_DURATION_MS}"}
    ]


@pytest.mark.parametrize(
    ("key", "expression"),
    [("review-result", "review-result.approved"), ("my key", "my key.ok"), ("$p", "$p.ok")],
)
def test_condition_paths_may_hold_dashes_dollars_and_spaces(client, auth, worker, key, expression):
    steps = [
        {"type": "task", "name": "review", "handler": "echo", "config": {key: {"approved": True}}},
        {"type": "condition", "name": "check", "expression": expression, "trueStep": "yes"},
        {"type": "task", "name": "no", "handler": "noop"},
        {"type": "task", "name": "yes", "handler": "noop"},
    ]
    if expression.endswith(".ok"):
        steps[0]["config"] = {key: {"ok": True}}

    run = wait_for_run(create_run_over_http(client, auth, steps))

    assert run.status == statuses.COMPLETED, run.error
    visited = {s.step_name: s.status for s in StepRun.select().where(StepRun.run == run.id)}
    assert visited["no"] == statuses.SKIPPED and visited["yes"] == statuses.COMPLETED


@pytest.mark.parametrize("expression", ["review-result.approved == true", "a + b", "a..b"])
def test_paths_with_our_operators_or_other_characters_are_still_refused(client, auth, expression):
    steps = [{"type": "condition", "name": "check", "expression": expression}]
    refused = define(client, auth, steps)
    assert refused.status_code == 400
    assert refused.json["error"]["details"]["fields"][0]["field"] == "steps[0].expression"
