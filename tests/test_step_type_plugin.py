"""A step type is one file: this module adds one (`increment`) and nothing else changes.

Registered, it is validated by the API, described in the OpenAPI document and run by the
workers; unregistered, definitions naming it are refused again.
"""

from __future__ import annotations

import pytest

from actors.steps.fields import Definition, Integer, Text
from actors.steps.outcomes import Completed, Failed
from actors.steps.step_type import StepType
from actors.steps.types import register, unregister
from app.openapi import build_document
from models.definitions import WorkflowDefinition
from models.runs import StepRun
from tests.support import wait_for_run


def run_increment(step, ctx):
    current = ctx.state.get(step["key"], 0)
    if not isinstance(current, int):
        return Failed("NOT_A_COUNTER", f"state[{step['key']!r}] is not an integer", retryable=False)
    return Completed(updates={step["key"]: current + step.get("by", 1)})


def no_self_reference(step, definition: Definition):
    if step.obj.get("key") in definition.step_names:
        step.add("key", "must not be a step's name")


INCREMENT = StepType(
    name="increment",
    description="Adds `by` to the integer `state[key]`.",
    fields={
        "key": Text(max_length=100, description="The counter in state."),
        "by": Integer(required=False, minimum=1, maximum=1000, default=1),
    },
    run=run_increment,
    check=no_self_reference,
)


@pytest.fixture
def increment():
    register(INCREMENT)
    yield INCREMENT
    unregister(INCREMENT.name)


def define(client, auth, steps):
    body = {"name": "counting", "version": "1", "steps": steps}
    return client.simulate_post("/v1/workflow-definitions", headers=auth, json=body)


STEPS = [
    {"type": "increment", "name": "once", "key": "count"},
    {"type": "increment", "name": "twice", "key": "count", "by": 2},
    {"type": "condition", "name": "again", "expression": "state.count < 9", "trueStep": "once"},
]


def test_a_registered_type_is_validated_documented_and_run(client, auth, increment, worker):
    schemas = build_document()["components"]["schemas"]
    assert schemas["IncrementStep"]["properties"]["by"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 1,
    }
    assert {"$ref": "#/components/schemas/IncrementStep"} in schemas["Step"]["oneOf"]

    created = define(client, auth, STEPS)
    assert created.status_code == 201, created.json
    run = client.simulate_post(
        "/v1/workflow-runs", headers=auth, json={"definitionId": created.json["data"]["id"]}
    )
    assert run.status_code == 201, run.json
    done = wait_for_run(run.json["data"]["id"])
    assert done.status == "COMPLETED", done.error
    assert done.output == {"count": 9}
    visits = StepRun.select().where(StepRun.run == done.id, StepRun.step_type == "increment")
    assert visits.count() == 6


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        ({"key": "count", "by": 0}, "by", "must be at least 1"),
        ({"key": "count", "by": "2"}, "by", "must be an integer"),
        ({"by": 2}, "key", "is required"),
        ({"key": "once"}, "key", "must not be a step's name"),
        ({"key": "count", "step": 1}, "step", "unknown field"),
    ],
)
def test_its_fields_are_checked_at_creation(client, auth, increment, step, field, message):
    steps = [{"type": "increment", "name": "once", **step}]
    refused = define(client, auth, steps)
    assert refused.status_code == 400
    assert {"field": f"steps[0].{field}", "message": message} in refused.json["error"]["details"][
        "fields"
    ]
    assert WorkflowDefinition.select().count() == 0


def test_an_unregistered_type_is_refused(client, auth):
    refused = define(client, auth, STEPS)
    assert refused.status_code == 400
    fields = refused.json["error"]["details"]["fields"]
    assert fields[0]["field"] == "steps[0].type"
    assert (
        "increment"
        not in build_document()["components"]["schemas"]["Step"]["discriminator"]["mapping"]
    )
