"""Stevora's llm step shapes (SPEC section 5): `tools` as `LlmToolDef` objects and `guardrails`
as a `GuardrailConfig`, posted as Stevora's documentation writes them, through HTTP and a real
worker against a local OpenAI-compatible server. The list forms stay valid beside them.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.openapi import build_document
from models import statuses
from models.definitions import WorkflowDefinition
from models.runs import StepRun
from tests.llm_servers import text, tools
from tests.support import create_run_over_http, wait_for_run

#: A tool as Stevora's documentation writes one: the model sees this, not the registration.
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city, in Celsius.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city name"}},
        "required": ["city"],
    },
}

#: A GuardrailConfig as Stevora's documentation writes one.
GUARDRAIL_CONFIG = {
    "postChecks": [
        {"type": "content_safety", "config": {"blockedTerms": ["password"]}},
        {"type": "confidence_threshold", "config": {"field": "confidence", "threshold": 0.8}},
    ],
    "onFailure": "block",
}


def llm_step(**fields):
    step = {
        "type": "llm",
        "name": "ask",
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "{{input.question}}"}],
    }
    return {**step, **fields}


def define(client, auth, step):
    body = {"name": "stevora-shapes", "version": "1", "steps": [step]}
    return client.simulate_post("/v1/workflow-definitions", headers=auth, json=body)


def problems(response):
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    return {f["field"]: f["message"] for f in response.json["error"]["details"]["fields"]}


def test_a_tool_definition_is_what_the_model_sees(client, auth, worker, openai):
    openai.script(tools(("get_weather", {"city": "Oslo"})), text("Clear, 21 C."))
    step = llm_step(tools=[WEATHER_TOOL, "lookup"])
    run = wait_for_run(create_run_over_http(client, auth, [step], {"question": "Weather in Oslo?"}))

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": "Clear, 21 C."}
    first, second = openai.bodies()
    weather, lookup = first["tools"]
    assert weather == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": WEATHER_TOOL["description"],
            "parameters": WEATHER_TOOL["parameters"],
        },
    }
    assert lookup["function"]["description"] == (
        "Looks a term up (for definitions that name a tool)."
    )
    result = json.loads(second["messages"][-1]["content"])
    assert result == {"city": "Oslo", "tempC": 21, "sky": "clear", "askedBy": "ask"}


def test_arguments_are_checked_against_the_definitions_parameters(client, auth, worker, openai):
    # Registered, get_weather takes any city; this definition allows only two.
    narrowed = {
        **WEATHER_TOOL,
        "parameters": {
            "type": "object",
            "properties": {"city": {"enum": ["Oslo", "Bergen"]}},
            "required": ["city"],
        },
    }
    openai.script(tools(("get_weather", {"city": "Paris"})), text("I may not look that up."))
    run = wait_for_run(
        create_run_over_http(client, auth, [llm_step(tools=[narrowed])], {"question": "?"})
    )

    assert run.status == statuses.COMPLETED, run.error
    told = json.loads(openai.bodies()[1]["messages"][-1]["content"])
    assert told["error"].startswith("invalid arguments: $.city: 'Paris' is not one of")


def test_a_tool_definition_without_description_or_parameters_keeps_the_registered_ones(
    client, auth, worker, openai
):
    openai.script(text("No tool needed."))
    run = wait_for_run(
        create_run_over_http(
            client, auth, [llm_step(tools=[{"name": "get_weather"}])], {"question": "?"}
        )
    )

    assert run.status == statuses.COMPLETED, run.error
    (tool,) = openai.bodies()[0]["tools"]
    assert tool["function"]["description"] == "The current weather in a city."
    assert tool["function"]["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("tool", "field", "message"),
    [
        ({"description": "x"}, "tools[0].name", "is required"),
        ({"name": "launch_rockets"}, "tools[0].name", "no LLM tool is registered as"),
        ({"name": "get weather"}, "tools[0].name", "must match"),
        ({**WEATHER_TOOL, "strict": True}, "tools[0].strict", "unknown field"),
        ({**WEATHER_TOOL, "description": 7}, "tools[0].description", "must be a string"),
        ({**WEATHER_TOOL, "parameters": []}, "tools[0].parameters", "must be an object"),
        (
            {**WEATHER_TOOL, "parameters": {"type": "objekt"}},
            "tools[0].parameters",
            "is not a valid JSON Schema",
        ),
        (
            {**WEATHER_TOOL, "parameters": {"properties": {"a": {"pattern": r"(a)\1"}}}},
            "tools[0].parameters",
            "",
        ),
        (42, "tools[0]", "must be a tool name or an object"),
    ],
)
def test_bad_tool_definitions_are_refused_and_nothing_is_stored(client, auth, tool, field, message):
    found = problems(define(client, auth, llm_step(tools=[tool])))

    assert f"steps[0].{field}" in found, found
    assert message in found[f"steps[0].{field}"]
    assert WorkflowDefinition.select().count() == 0


def test_a_tool_offered_twice_is_refused(client, auth):
    found = problems(define(client, auth, llm_step(tools=["get_weather", WEATHER_TOOL])))

    assert found == {"steps[0].tools[1].name": "tool 'get_weather' is offered twice"}


def test_a_guardrail_config_blocks_with_its_one_action(client, auth, worker, openai):
    openai.script(text('{"answer": "the password is hunter2", "confidence": 0.5}'))
    step = llm_step(responseFormat="json", guardrails=GUARDRAIL_CONFIG)
    run = wait_for_run(create_run_over_http(client, auth, [step], {"question": "?"}))

    assert run.status == statuses.FAILED
    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    violations = run.error["details"]["violations"]
    assert [(v["guardrail"], v["index"], v["onFailure"]) for v in violations] == [
        ("content_safety", 0, "block"),
        ("confidence_threshold", 1, "block"),
    ]


def test_a_guardrail_config_warns_by_default(client, auth, worker, openai):
    openai.script(text('{"answer": "my password", "confidence": 0.95}'))
    config = {"postChecks": GUARDRAIL_CONFIG["postChecks"]}
    step = llm_step(responseFormat="json", guardrails=config)
    run = wait_for_run(create_run_over_http(client, auth, [step], {"question": "?"}))

    assert run.status == statuses.COMPLETED, run.error
    (warning,) = StepRun.get(StepRun.run == run.id).output["guardrails"]
    assert (warning["guardrail"], warning["onFailure"]) == ("content_safety", "warn")


def test_a_guardrail_config_retries_with_feedback_within_its_checks_bound(
    client, auth, worker, openai
):
    openai.script(text('{"confidence": 0.1}'), text('{"confidence": 0.2}'), text("unused"))
    config = {
        "postChecks": [
            {
                "type": "confidence_threshold",
                "config": {"field": "confidence", "threshold": 0.8, "maxRetries": 1},
            }
        ],
        "onFailure": "retry_with_feedback",
    }
    step = llm_step(responseFormat="json", guardrails=config)
    run = wait_for_run(create_run_over_http(client, auth, [step], {"question": "?"}))

    assert run.status == statuses.FAILED
    assert "after 1 retries with feedback" in run.error["message"]
    assert len(openai.requests) == 2
    feedback = openai.bodies()[1]["messages"][-1]
    assert "confidence is 0.1, below the threshold 0.8" in feedback["content"]


@pytest.mark.parametrize(
    ("guardrails", "field", "message"),
    [
        ({"postChecks": "all"}, "guardrails.postChecks", "must be a list"),
        ({"postChecks": [], "onFailure": "explode"}, "guardrails.onFailure", "must be one of"),
        ({"postChecks": [], "mode": "x"}, "guardrails.mode", "unknown field"),
        ({"postChecks": [{"type": "pii"}]}, "guardrails.postChecks[0].type", "must be one of"),
        ({"postChecks": ["content_safety"]}, "guardrails.postChecks[0]", "must be an object"),
        (
            {"postChecks": [{"type": "content_safety", "config": {"terms": ["x"]}}]},
            "guardrails.postChecks[0].config.terms",
            "unknown field",
        ),
        (
            {"postChecks": [{"type": "content_safety", "config": {"blockedPatterns": ["(?=x)"]}}]},
            "guardrails.postChecks[0]",
            "blockedPatterns has an invalid expression",
        ),
        (
            {"postChecks": [{"type": "confidence_threshold", "config": {"field": "c"}}]},
            "guardrails.postChecks[0]",
            "needs a numeric `threshold`",
        ),
        (
            {"postChecks": [{"type": "schema_validation"}]},
            "guardrails.postChecks[0]",
            "needs `schema` (or the step's outputSchema)",
        ),
        ({"type": "content_safety"}, "guardrails", "must be a list of checks or an object"),
        ("block", "guardrails", "must be a list of checks or an object"),
    ],
)
def test_bad_guardrail_configs_are_refused_and_nothing_is_stored(
    client, auth, guardrails, field, message
):
    found = problems(define(client, auth, llm_step(guardrails=guardrails)))

    assert f"steps[0].{field}" in found, found
    assert message in found[f"steps[0].{field}"]
    assert WorkflowDefinition.select().count() == 0


def test_a_schema_check_in_a_config_may_use_the_steps_output_schema(client, auth):
    step = llm_step(
        outputSchema={"type": "object", "required": ["label"]},
        guardrails={"postChecks": [{"type": "schema_validation"}]},
    )
    assert define(client, auth, step).status_code == 201


def test_the_openapi_schema_takes_both_forms_and_refuses_a_mix():
    document = build_document()
    registry = Registry().with_resource(
        "urn:stevora", Resource(contents=document, specification=DRAFT202012)
    )
    schema = {"$ref": "urn:stevora#/components/schemas/LlmStep"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    listed = [{"type": "content_safety", "blockedTerms": ["x"], "onFailure": "warn"}]

    validator.validate(llm_step(tools=[WEATHER_TOOL, "lookup"], guardrails=GUARDRAIL_CONFIG))
    validator.validate(llm_step(tools=["lookup"], guardrails=listed))
    mixed = {"postChecks": listed}
    assert not validator.is_valid(llm_step(guardrails=mixed))
