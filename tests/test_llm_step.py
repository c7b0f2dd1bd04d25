"""The llm step through HTTP and a real worker, against local OpenAI and Anthropic servers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from actors.llm import guardrails
from actors.llm.answers import AnswerNotJson, parse_json
from models import statuses
from models.llm_calls import LlmCall
from models.runs import StepRun
from models.runs import events_of as run_events
from tests.llm_servers import (
    ANTHROPIC,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    FakeProvider,
    error,
    point_at,
    slow,
    text,
    tools,
)
from tests.support import create_run_over_http, wait_for_run


@pytest.fixture
def anthropic(monkeypatch, openai):
    with FakeProvider(ANTHROPIC) as server:
        point_at(monkeypatch, openai=openai, anthropic=server)
        yield server


def llm_step(**fields):
    step = {
        "type": "llm",
        "name": "ask",
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Classify: {{input.text}}"}],
    }
    return {**step, **fields}


def calls_of(run_id):
    return list(LlmCall.select().where(LlmCall.run == run_id).order_by(LlmCall.id))


def events_of(run_id, *types):
    query = run_events(run_id)
    return [e for e in query if not types or e.event_type in types]


def step_run(run_id, name="ask"):
    return StepRun.get((StepRun.run == run_id) & (StepRun.step_name == name))


def assert_costs_add_up(run):
    """The run's total is the sum of its calls' costs, and each cost follows the price."""
    calls = calls_of(run.id)
    assert Decimal(run.total_cost_cents) == sum((c.cost_usd for c in calls), Decimal(0)) * 100
    return calls


def test_a_text_answer_goes_to_state_with_its_tokens_and_cost(client, auth, worker, openai):
    openai.script(text("Spam, clearly.", input_tokens=1200, output_tokens=300))
    run_id = create_run_over_http(
        client,
        auth,
        [
            llm_step(
                systemPrompt="You sort mail for {{input.user}}.",
                temperature=0.2,
                maxTokens=50,
                outputKey="verdict",
            )
        ],
        input={"user": "Ada", "text": "WIN A PRIZE"},
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"verdict": "Spam, clearly."}
    (request,) = openai.requests
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You sort mail for Ada."},
            {"role": "user", "content": "Classify: WIN A PRIZE"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
    }
    (call,) = assert_costs_add_up(run)
    # gpt-4o: 2.50 USD per million input tokens, 10.00 per million output tokens.
    assert (call.provider, call.model, call.outcome, call.attempt) == (
        "openai",
        "gpt-4o",
        "completed",
        1,
    )
    assert (call.input_tokens, call.output_tokens) == (1200, 300)
    assert call.cost_usd == Decimal("0.006")
    assert Decimal(run.total_cost_cents) == Decimal("0.6")
    assert call.step_run_id == step_run(run_id).id
    output = step_run(run_id).output
    assert output["result"] == "Spam, clearly."
    assert output["model"] == "gpt-4o" and output["provider"] == "openai"
    assert (output["inputTokens"], output["outputTokens"], output["costUsd"]) == (1200, 300, 0.006)
    assert output["guardrails"] == []
    types = [e.event_type for e in events_of(run_id)]
    assert types[types.index("STEP_STARTED") :] == [
        "STEP_STARTED",
        "LLM_CALL_COMPLETED",
        "STEP_COMPLETED",
        "WORKFLOW_COMPLETED",
    ]
    (event,) = events_of(run_id, "LLM_CALL_COMPLETED")
    assert event.payload["llmCallId"] == call.id
    assert event.payload["costUsd"] == 0.006 and event.payload["finishReason"] == "stop"


def test_a_json_answer_is_parsed_from_fenced_code(client, auth, worker, openai):
    openai.script(text('Here it is:\n```json\n{"label": "spam", "score": 0.93}\n```\nBye.'))
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json")], input={"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": {"label": "spam", "score": 0.93}}


def test_an_answer_that_is_not_json_fails_the_attempt_and_the_policy_retries(
    client, auth, worker, clock, openai
):
    openai.script(text("I think it is spam."), text('{"label": "spam"}'))
    step = llm_step(responseFormat="json", retry={"maxAttempts": 2, "backoffMs": 100})
    run_id = create_run_over_http(client, auth, [step], input={"text": "hi"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": {"label": "spam"}}
    assert step_run(run_id).attempt == 2
    (failed,) = events_of(run_id, "STEP_FAILED")
    assert failed.payload["error"]["code"] == "LLM_INVALID_JSON"
    assert failed.payload["willRetry"] is True
    calls = assert_costs_add_up(run)
    assert [(c.attempt, c.outcome) for c in calls] == [(1, "completed"), (2, "completed")]


def test_anthropic_messages_with_a_tool_call(client, auth, worker, anthropic):
    anthropic.script(
        tools(("get_weather", {"city": "Oslo"}), content="Let me check.", input_tokens=500),
        text("It is 21 C and clear in Oslo.", input_tokens=700, output_tokens=40),
    )
    step = llm_step(
        model="claude-3-5-haiku-20241022",
        systemPrompt="You are a weather bot.",
        messages=[{"role": "user", "content": "Weather in {{input.city}}?"}],
        tools=["get_weather"],
    )
    run_id = create_run_over_http(client, auth, [step], input={"city": "Oslo"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": "It is 21 C and clear in Oslo."}
    first, second = anthropic.requests
    assert first.headers["x-api-key"] == ANTHROPIC_KEY
    assert first.headers["anthropic-version"] == "2023-06-01"
    assert first.body["system"] == "You are a weather bot."
    assert first.body["max_tokens"] == 4096
    assert first.body["tools"] == [
        {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        }
    ]
    user, assistant, results = second.body["messages"]
    assert user == {"role": "user", "content": "Weather in Oslo?"}
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_1_0",
                "name": "get_weather",
                "input": {"city": "Oslo"},
            },
        ],
    }
    (result,) = results["content"]
    assert results["role"] == "user" and result["tool_use_id"] == "toolu_1_0"
    assert json.loads(result["content"]) == {
        "city": "Oslo",
        "tempC": 21,
        "sky": "clear",
        "askedBy": "ask",
    }
    calls = assert_costs_add_up(run)
    assert [(c.provider, c.input_tokens, c.output_tokens) for c in calls] == [
        ("anthropic", 500, 20),
        ("anthropic", 700, 40),
    ]
    # claude-3-5-haiku: 0.80 in, 4.00 out per million tokens.
    assert calls[0].cost_usd == Decimal("0.00048")
    asked, answered = events_of(run_id, "LLM_CALL_COMPLETED")
    (trace,) = asked.payload["toolCalls"]
    assert trace["name"] == "get_weather" and trace["arguments"] == {"city": "Oslo"}
    assert json.loads(trace["result"])["tempC"] == 21
    assert "toolCalls" not in answered.payload
    assert step_run(run_id).output["toolRounds"] == 1


def test_tool_errors_are_told_to_the_model_and_traced(client, auth, worker, openai):
    openai.script(
        tools(("get_weather", {"city": "Paris"}), ("broken_sensor", {})),
        tools(("get_weather", {"town": "Lyon"}), ("no_such_tool", {})),
        text("Paris is clear; I could not read the sensor."),
    )
    step = llm_step(tools=["get_weather", "broken_sensor"], maxToolRounds=3)
    run_id = create_run_over_http(client, auth, [step], input={"text": "weather"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    first, second, third = openai.bodies()
    assert [tool["function"]["name"] for tool in first["tools"]] == ["get_weather", "broken_sensor"]
    assistant, weather, sensor = second["messages"][1:]
    assert assistant["tool_calls"][0] == {
        "id": "call_1_0",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert weather["role"] == "tool" and weather["tool_call_id"] == "call_1_0"
    assert json.loads(weather["content"])["city"] == "Paris"
    assert sensor["tool_call_id"] == "call_1_1"
    assert json.loads(sensor["content"]) == {"error": "RuntimeError: sensor offline"}
    bad_arguments, unknown = (json.loads(m["content"])["error"] for m in third["messages"][-2:])
    assert "'city' is a required property" in bad_arguments
    assert unknown == "no tool named 'no_such_tool' is available"
    traces = [e.payload.get("toolCalls") for e in events_of(run_id, "LLM_CALL_COMPLETED")]
    assert [[t["name"] for t in trace] for trace in traces[:2]] == [
        ["get_weather", "broken_sensor"],
        ["get_weather", "no_such_tool"],
    ]
    assert traces[0][1]["error"] == "RuntimeError: sensor offline"
    assert traces[2] is None
    assert step_run(run_id).output["toolRounds"] == 2
    assert len(assert_costs_add_up(run)) == 3


def test_the_tool_loop_stops_after_max_tool_rounds(client, auth, worker, openai):
    openai.script(*[tools(("get_weather", {"city": "Rome"}))] * 3)
    run_id = create_run_over_http(
        client, auth, [llm_step(tools=["get_weather"], maxToolRounds=2)], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED
    assert run.error["code"] == "LLM_TOOL_ROUNDS_EXCEEDED"
    assert run.error["details"] == {"maxToolRounds": 2}
    assert step_run(run_id).attempt == 1  # not retried: the same model would loop again
    calls = assert_costs_add_up(run)
    assert len(calls) == 3 and run.total_cost_cents > 0
    assert len(events_of(run_id, "LLM_CALL_COMPLETED")) == 3


def test_a_tool_that_refuses_fails_the_step_at_once(client, auth, worker, openai):
    openai.script(tools(("forbidden", {})))
    run_id = create_run_over_http(client, auth, [llm_step(tools=["forbidden"])], {"text": "hi"})

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED
    assert run.error["code"] == "LLM_TOOL_FAILED"
    assert "this tool may not be used here" in run.error["message"]
    assert len(assert_costs_add_up(run)) == 1
    (event,) = events_of(run_id, "LLM_CALL_COMPLETED")
    (trace,) = event.payload["toolCalls"]
    assert (trace["name"], trace["arguments"]) == ("forbidden", {})
    assert trace["error"] == "NonRetryableError: this tool may not be used here"


# Each guardrail, with an answer that fails it and one that passes.
GUARDRAILS = {
    "schema_validation": (
        {
            "schema": {
                "type": "object",
                "properties": {"label": {"enum": ["spam", "ham"]}},
                "required": ["label"],
            }
        },
        '{"label": "maybe"}',
        '{"label": "spam"}',
        "$.label: 'maybe' is not one of ['spam', 'ham']",
    ),
    "content_safety": (
        {"blockedTerms": ["password"], "blockedPatterns": [r"\b\d{3}-\d{2}-\d{4}\b"]},
        '{"reply": "Your PASSWORD is 123-45-6789"}',
        '{"reply": "I cannot share that."}',
        "contains the blocked term 'password'",
    ),
    "confidence_threshold": (
        {"field": "meta.confidence", "threshold": 0.8},
        '{"label": "spam", "meta": {"confidence": 0.55}}',
        '{"label": "spam", "meta": {"confidence": 0.9}}',
        "meta.confidence is 0.55, below the threshold 0.8",
    ),
}


@pytest.mark.parametrize("kind", GUARDRAILS)
def test_a_guardrail_that_warns_records_and_goes_on(client, auth, worker, openai, kind):
    config, bad, _, reason = GUARDRAILS[kind]
    openai.script(text(bad))
    guardrail = {"type": kind, "onFailure": "warn", **config}
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", guardrails=[guardrail])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": json.loads(bad)}
    (warning,) = step_run(run_id).output["guardrails"]
    assert warning["guardrail"] == kind and warning["onFailure"] == "warn"
    assert reason in warning["reasons"]
    assert len(openai.requests) == 1


@pytest.mark.parametrize("kind", GUARDRAILS)
def test_a_guardrail_that_blocks_fails_the_step(client, auth, worker, openai, kind):
    config, bad, _, reason = GUARDRAILS[kind]
    openai.script(text(bad))
    guardrail = {"type": kind, "onFailure": "block", **config}
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", guardrails=[guardrail])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED
    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    (violation,) = run.error["details"]["violations"]
    assert violation["guardrail"] == kind and reason in violation["reasons"]
    assert step_run(run_id).attempt == 1
    assert run.state == {}
    assert len(assert_costs_add_up(run)) == 1  # the blocked answer was still paid for


@pytest.mark.parametrize("kind", GUARDRAILS)
def test_a_guardrail_that_retries_with_feedback_gets_a_better_answer(
    client, auth, worker, openai, kind
):
    config, bad, good, reason = GUARDRAILS[kind]
    openai.script(text(bad), text(good))
    guardrail = {"type": kind, "onFailure": "retry_with_feedback", **config}
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", guardrails=[guardrail])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": json.loads(good)}
    *_, answer, feedback = openai.bodies()[1]["messages"]
    assert answer == {"role": "assistant", "content": bad}
    assert feedback["role"] == "user" and reason in feedback["content"]
    assert step_run(run_id).output["feedbackRounds"] == 1
    assert step_run(run_id).output["guardrails"] == []
    assert len(assert_costs_add_up(run)) == 2


def test_retries_with_feedback_are_bounded_then_block(client, auth, worker, openai):
    config, bad, _, _ = GUARDRAILS["confidence_threshold"]
    openai.script(text(bad), text(bad), text(bad))
    guardrail = {"type": "confidence_threshold", "onFailure": "retry_with_feedback", **config}
    guardrail["maxRetries"] = 1
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", guardrails=[guardrail])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED
    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    assert "after 1 retries with feedback" in run.error["message"]
    assert len(openai.requests) == 2
    assert len(assert_costs_add_up(run)) == 2


def test_an_output_schema_alone_blocks_answers_that_do_not_fit(client, auth, worker, openai):
    openai.script(text('{"label": 3}'))
    schema = {"type": "object", "properties": {"label": {"type": "string"}}}
    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", outputSchema=schema)], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    assert run.error["details"]["violations"][0]["reasons"] == [
        "$.label: 3 is not of type 'string'"
    ]


def test_a_500_falls_back_to_the_next_model(client, auth, worker, openai):
    openai.script(error(500, "upstream exploded"), text("ham", input_tokens=1000, output_tokens=10))
    run_id = create_run_over_http(
        client, auth, [llm_step(fallbackModels=["gpt-4o-mini"])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": "ham"}
    assert [body["model"] for body in openai.bodies()] == ["gpt-4o", "gpt-4o-mini"]
    failed, completed = assert_costs_add_up(run)
    assert (failed.model, failed.outcome, failed.cost_usd) == ("gpt-4o", "failed", 0)
    assert failed.error == {
        "type": "http_error",
        "message": "HTTP 500: upstream exploded",
        "retryable": True,
        "status": 500,
    }
    # gpt-4o-mini: 0.15 in, 0.60 out per million tokens.
    assert (completed.model, completed.cost_usd) == ("gpt-4o-mini", Decimal("0.000156"))
    assert [e.event_type for e in events_of(run_id, "LLM_CALL_FAILED", "LLM_CALL_COMPLETED")] == [
        "LLM_CALL_FAILED",
        "LLM_CALL_COMPLETED",
    ]
    failed_event = events_of(run_id, "LLM_CALL_FAILED")[0]
    assert failed_event.payload["error"]["status"] == 500
    assert failed_event.payload["fallbackIndex"] == 0
    assert step_run(run_id).output["model"] == "gpt-4o-mini"


def test_a_timeout_falls_back_to_another_provider(client, auth, worker, openai, anthropic):
    openai.script(slow(3, text("too late")))
    anthropic.script(text("on time"))
    step = llm_step(timeoutMs=300, fallbackModels=["claude-3-5-haiku-latest"])
    run_id = create_run_over_http(client, auth, [step], {"text": "hi"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": "on time"}
    timed_out, completed = assert_costs_add_up(run)
    assert timed_out.error["type"] == "timeout" and timed_out.error["retryable"] is True
    assert 300 <= timed_out.duration_ms < 3000
    assert (completed.provider, completed.model) == ("anthropic", "claude-3-5-haiku-latest")


def test_when_every_model_fails_the_retry_policy_tries_again(client, auth, worker, clock, openai):
    openai.script(error(429, "rate limited"), error(503, "overloaded"), text("finally"))
    step = llm_step(fallbackModels=["gpt-4o-mini"], retry={"maxAttempts": 2, "backoffMs": 100})
    run_id = create_run_over_http(client, auth, [step], {"text": "hi"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    (failed,) = events_of(run_id, "STEP_FAILED")
    assert failed.payload["error"]["code"] == "LLM_PROVIDER_ERROR"
    assert [e["status"] for e in failed.payload["error"]["details"]["errors"]] == [429, 503]
    assert failed.payload["willRetry"] is True
    calls = assert_costs_add_up(run)
    assert [(c.attempt, c.model, c.outcome) for c in calls] == [
        (1, "gpt-4o", "failed"),
        (1, "gpt-4o-mini", "failed"),
        (2, "gpt-4o", "completed"),
    ]


def test_a_4xx_is_final_and_no_fallback_is_tried(client, auth, worker, openai):
    openai.script(error(400, "max_tokens is too large"))
    run_id = create_run_over_http(
        client, auth, [llm_step(fallbackModels=["gpt-4o-mini"])], {"text": "hi"}
    )

    run = wait_for_run(run_id)

    assert run.status == statuses.FAILED
    assert run.error["code"] == "LLM_PROVIDER_ERROR"
    assert run.error["details"]["status"] == 400 and run.error["details"]["retryable"] is False
    assert step_run(run_id).attempt == 1
    assert len(openai.requests) == 1
    (call,) = assert_costs_add_up(run)
    assert call.outcome == "failed" and call.error["status"] == 400


def test_an_unresolved_template_fails_before_any_call(client, auth, worker, openai):
    run_id = create_run_over_http(client, auth, [llm_step()], input={})

    run = wait_for_run(run_id)

    assert run.error["code"] == "TEMPLATE_UNRESOLVED"
    assert openai.requests == [] and calls_of(run_id) == []


def test_a_provider_without_a_key_fails_before_any_call(client, auth, worker, monkeypatch):
    point_at(monkeypatch, openai_base_url="https://api.openai.com/v1", openai_api_key=None)
    run_id = create_run_over_http(client, auth, [llm_step()], input={"text": "hi"})

    run = wait_for_run(run_id)

    assert run.error["code"] == "LLM_PROVIDER_NOT_CONFIGURED"
    assert "OPENAI_API_KEY" in run.error["message"]
    assert step_run(run_id).attempt == 1


def test_prices_are_overridden_by_the_operator_and_unknown_models_cost_nothing(
    client, auth, worker, openai, monkeypatch, tmp_path
):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"local-llama": {"input": 1, "output": 2}}}))
    point_at(monkeypatch, openai=openai, llm_prices_path=str(prices))
    openai.script(
        text("one", input_tokens=1_000_000, output_tokens=500_000),
        text("two", input_tokens=10, output_tokens=10),
    )
    steps = [
        llm_step(name="priced", model="local-llama"),
        llm_step(name="unpriced", model="mystery-model"),
    ]
    run_id = create_run_over_http(client, auth, steps, {"text": "hi"})

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    priced, unpriced = assert_costs_add_up(run)
    assert priced.cost_usd == Decimal("2") and unpriced.cost_usd == 0
    assert Decimal(run.total_cost_cents) == 200
    _, warned = events_of(run_id, "LLM_CALL_COMPLETED")
    assert (
        warned.payload["warning"] == "no price for model 'mystery-model': its cost is counted as 0"
    )


def test_definitions_refuse_unknown_tools_and_unusable_guardrails(client, auth):
    step = llm_step(
        tools=["get_weather", "launch_rockets"],
        outputSchema={"type": "object", "properties": {"a": {"type": "nonsense"}}},
        guardrails=[
            {"type": "content_safety", "blockedPatterns": ["("]},
            {"type": "confidence_threshold", "field": "score"},
            {"type": "content_safety", "blockedTerm": ["x"]},
        ],
    )
    response = client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "bad", "version": "1", "steps": [step]},
    )

    assert response.status_code == 400
    fields = {f["field"]: f["message"] for f in response.json["error"]["details"]["fields"]}
    assert fields["steps[0].tools[1]"] == "no LLM tool is registered as 'launch_rockets'"
    assert "steps[0].tools[0]" not in fields
    assert fields["steps[0].outputSchema"].startswith("is not a valid JSON Schema")
    assert fields["steps[0].guardrails[0]"].startswith("blockedPatterns has an invalid expression")
    assert fields["steps[0].guardrails[1]"] == "needs a numeric `threshold`"
    assert fields["steps[0].guardrails[2]"] == "unknown field 'blockedTerm' for content_safety"


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2]\n", [1, 2]),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Sure!\n```\n{"a": [1]}\n```', {"a": [1]}),
        ('The answer is {"a": "}"} as asked.', {"a": "}"}),
        ("42", 42),
    ],
)
def test_json_answers_are_read_bare_fenced_or_in_prose(answer, value):
    assert parse_json(answer) == value


def test_an_answer_without_json_is_refused():
    with pytest.raises(AnswerNotJson):
        parse_json("No JSON {here")


def test_guardrail_feedback_lists_every_reason():
    built = guardrails.build(
        [
            {
                "type": "content_safety",
                "blockedTerms": ["secret"],
                "onFailure": "retry_with_feedback",
            }
        ],
        {"type": "object", "required": ["label"]},
    )
    found = guardrails.violations(built, "a Secret", "a Secret")

    assert [v.guardrail.type for v in found] == ["content_safety", "schema_validation"]
    assert guardrails.feedback(found).splitlines()[1:3] == [
        "- content_safety: contains the blocked term 'secret'",
        "- schema_validation: $: 'a Secret' is not of type 'object'",
    ]
