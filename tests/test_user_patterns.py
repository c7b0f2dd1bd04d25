"""User regular expressions run in RE2, in linear time, or are refused when a definition is made.

Python's `re` needs about 2^n steps for `(a+)+$` over n a's and a '!', and fib(n) for
`(a|aa)+$`: each answer below would hold a worker thread for longer than the suite runs.
"""

from __future__ import annotations

import json
import re
import time

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from actors.llm import patterns
from actors.registry import llm_tool
from models import statuses
from models.definitions import WorkflowDefinition
from models.runs import StepRun
from tests.api_support import assert_error
from tests.llm_servers import text, tools
from tests.support import create_run_over_http, wait_for_run

#: Longest a step with a pathological pattern may take here; Python's `re` would take ages.
FAST_MS = 500

#: Patterns RE2 cannot run: backreferences and lookaround.
REFUSED = [r"(a)\1", r"(?=x)", r"(?!x)y", r"(?<=a)b", r"(?<!a)b"]


@llm_tool(
    "find_code",
    description="Finds an order by its code (for the tool-argument pattern test).",
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^(a|aa)+$"}},
        "required": ["code"],
    },
)
def find_code(ctx, arguments):
    return {"code": arguments["code"], "found": True}


def llm_step(**fields):
    step = {
        "type": "llm",
        "name": "ask",
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Say something."}],
    }
    return {**step, **fields}


def post(client, auth, *steps):
    return client.simulate_post(
        "/v1/workflow-definitions",
        headers=auth,
        json={"name": "patterns", "version": str(time.monotonic_ns()), "steps": list(steps)},
    )


def refused(client, auth, field, *steps) -> str:
    """Assert the definition is a 400 naming `field`, stores nothing; the field's message."""
    error = assert_error(post(client, auth, *steps), 400, "VALIDATION_ERROR", field)
    assert WorkflowDefinition.select().count() == 0
    return {f["field"]: f["message"] for f in error["details"]["fields"]}[field]


def step_run(run_id):
    return StepRun.get(StepRun.run == run_id)


# Blocked patterns.


@pytest.mark.parametrize(
    ("answer", "reasons"),
    [("a" * 5000 + "!", []), ("a" * 5000, ["matches the blocked pattern /(a+)+$/"])],
    ids=["no-match", "match"],
)
def test_a_nested_quantifier_blocked_pattern_runs_in_linear_time(
    client, auth, worker, openai, answer, reasons
):
    # Given a guardrail whose pattern backtracks exponentially in Python's re
    openai.script(text(answer))
    guardrail = {"type": "content_safety", "blockedPatterns": ["(a+)+$"], "onFailure": "warn"}

    # When a run of it gets a long answer
    run_id = create_run_over_http(client, auth, [llm_step(guardrails=[guardrail])])
    run = wait_for_run(run_id)

    # Then the guardrail was evaluated, quickly
    assert run.status == statuses.COMPLETED, run.error
    assert run.state == {"ask": answer}
    warnings = step_run(run_id).output["guardrails"]
    assert [reason for w in warnings for reason in w["reasons"]] == reasons
    assert step_run(run_id).duration_ms < FAST_MS


@pytest.mark.parametrize("pattern", REFUSED)
def test_a_blocked_pattern_re2_cannot_run_is_refused(client, auth, pattern):
    guardrail = {"type": "content_safety", "blockedPatterns": ["fine", pattern]}

    message = refused(client, auth, "steps[0].guardrails[0]", llm_step(guardrails=[guardrail]))

    assert message.startswith(f"blockedPatterns has an invalid expression: {pattern!r}")
    assert patterns.DIALECT_NOTE in message


def test_blocked_patterns_take_re2_syntax(client, auth, worker, openai):
    # Unicode classes and \z are RE2's; Python's re has neither.
    openai.script(text("Grüße, the end"))
    guardrail = {
        "type": "content_safety",
        "blockedPatterns": [r"\p{Lu}\p{Ll}+e", r"end\z"],
        "onFailure": "warn",
    }
    run_id = create_run_over_http(client, auth, [llm_step(guardrails=[guardrail])])

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    (warning,) = step_run(run_id).output["guardrails"]
    assert warning["reasons"] == [
        r"matches the blocked pattern /\p{Lu}\p{Ll}+e/",
        r"matches the blocked pattern /end\z/",
    ]


def test_a_blocked_pattern_reads_an_answer_with_a_lone_surrogate(client, auth, worker, openai):
    # JSON may escape half a surrogate pair; RE2's str API would raise on it.
    openai.script(text("a secret \ud800"))
    guardrail = {"type": "content_safety", "blockedPatterns": ["secret"]}
    run_id = create_run_over_http(client, auth, [llm_step(guardrails=[guardrail])])

    run = wait_for_run(run_id)

    assert run.error["code"] == "GUARDRAIL_BLOCKED", run.error
    (violation,) = run.error["details"]["violations"]
    assert violation["reasons"] == ["matches the blocked pattern /secret/"]


# JSON Schema patterns.


@pytest.mark.parametrize(
    ("answer", "status"),
    [("a" * 40 + "!", statuses.FAILED), ("a" * 40, statuses.COMPLETED)],
    ids=["no-match", "match"],
)
def test_an_output_schema_pattern_runs_in_linear_time(client, auth, worker, openai, answer, status):
    openai.script(text(answer))
    schema = {"type": "string", "pattern": "(a|aa)+$"}

    run_id = create_run_over_http(client, auth, [llm_step(outputSchema=schema)])
    run = wait_for_run(run_id)

    assert run.status == status, run.error
    if status == statuses.FAILED:
        assert run.error["code"] == "GUARDRAIL_BLOCKED"
        (violation,) = run.error["details"]["violations"]
        assert violation["reasons"] == [f"$: {answer!r} does not match '(a|aa)+$'"]
    assert step_run(run_id).duration_ms < FAST_MS


def test_pattern_properties_run_in_re2_for_additional_properties_too(client, auth, worker, openai):
    # jsonschema itself matches patternProperties with re for additionalProperties as well.
    key = "a" * 5000 + "!"
    openai.script(text(json.dumps({key: 1, "aaa": 2})))
    schema = {
        "type": "object",
        "patternProperties": {"^(a+)+$": {"type": "integer"}},
        "additionalProperties": False,
    }

    run_id = create_run_over_http(
        client, auth, [llm_step(responseFormat="json", outputSchema=schema)]
    )
    run = wait_for_run(run_id)

    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    (reason,) = run.error["details"]["violations"][0]["reasons"]
    assert reason == f"$: {key!r} does not match any of the regexes: '^(a+)+$'"
    assert step_run(run_id).duration_ms < FAST_MS


def test_tool_arguments_are_checked_with_re2(client, auth, worker, openai):
    openai.script(
        tools(("find_code", {"code": "a" * 40 + "!"})),
        tools(("find_code", {"code": "a" * 40})),
        text("Found it."),
    )
    run_id = create_run_over_http(client, auth, [llm_step(tools=["find_code"])])

    run = wait_for_run(run_id)

    assert run.status == statuses.COMPLETED, run.error
    refusal, found = (body["messages"][-1]["content"] for body in openai.bodies()[1:])
    assert "does not match '^(a|aa)+$'" in refusal
    assert '"found": true' in found
    assert step_run(run_id).duration_ms < FAST_MS


@pytest.mark.parametrize("pattern", REFUSED)
@pytest.mark.parametrize(
    ("where", "schema_of"),
    [
        ("$.properties.code.pattern", lambda p: {"properties": {"code": {"pattern": p}}}),
        ("$.items.patternProperties", lambda p: {"items": {"patternProperties": {p: {}}}}),
    ],
    ids=["pattern", "patternProperties"],
)
def test_an_output_schema_with_a_pattern_re2_cannot_run_is_refused(
    client, auth, pattern, where, schema_of
):
    message = refused(
        client, auth, "steps[0].outputSchema", llm_step(outputSchema=schema_of(pattern))
    )

    assert message.startswith(f"has an invalid pattern at {where}: {pattern!r} cannot be")


def test_a_guardrail_schema_with_a_pattern_re2_cannot_run_is_refused(client, auth):
    guardrail = {"type": "schema_validation", "schema": {"pattern": r"(\w+) \1"}}

    message = refused(client, auth, "steps[0].guardrails[0]", llm_step(guardrails=[guardrail]))

    assert message.startswith("schema has an invalid pattern at $.pattern")


def test_unevaluated_properties_beside_pattern_properties_is_refused(client, auth):
    # jsonschema would match those patternProperties with re to find unevaluated properties.
    schema = {"allOf": [{"patternProperties": {"^x": {}}}], "unevaluatedProperties": False}

    message = refused(client, auth, "steps[0].outputSchema", llm_step(outputSchema=schema))

    assert message.startswith("combines unevaluatedProperties with patternProperties")


def test_schemas_take_re2_syntax(client, auth):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "pattern": r"^\p{L}+\z"}},
        "patternProperties": {r"^\p{Lu}": {"format": "regex"}},
    }

    assert post(client, auth, llm_step(outputSchema=schema)).status_code == 201


# Retries with feedback.


def test_max_retries_above_five_is_refused(client, auth):
    guardrail = {"type": "content_safety", "blockedTerms": ["x"], "maxRetries": 6}

    message = refused(client, auth, "steps[0].guardrails[0]", llm_step(guardrails=[guardrail]))

    assert message == "maxRetries must be an integer from 0 to 5"


def test_five_retries_with_feedback_are_allowed_and_then_block(client, auth, worker, openai):
    openai.script(*[text("a secret")] * 6)
    guardrail = {
        "type": "content_safety",
        "blockedTerms": ["secret"],
        "onFailure": "retry_with_feedback",
        "maxRetries": 5,
    }

    run_id = create_run_over_http(client, auth, [llm_step(guardrails=[guardrail])])
    run = wait_for_run(run_id)

    assert run.error["code"] == "GUARDRAIL_BLOCKED"
    assert "after 5 retries with feedback" in run.error["message"]
    assert len(openai.requests) == 6


# RE2 against Python's re, on patterns where their dialects agree.

#: Text without newlines (where `$` differs) and ASCII only (where `\d`, `\w`, `\b` differ).
ALPHABET = "ab1 !_"
ATOMS = st.sampled_from(["a", "b", "ab", ".", "[ab]", "[^a]", r"\d", r"\w", r"\b", "!", ""])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, inner).map("".join),
        st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "*?", "+?"])).map(
            lambda p: f"(?:{p[0]}){p[1]}"
        ),
        inner.map(lambda p: f"({p})"),
    )


SAFE_PATTERNS = st.tuples(
    st.sampled_from(["", "^"]), st.recursive(ATOMS, _grow, max_leaves=8), st.sampled_from(["", "$"])
).map("".join)
TEXTS = st.text(alphabet=ALPHABET, max_size=10)


@settings(max_examples=400, deadline=None)
@given(pattern=SAFE_PATTERNS, text=TEXTS)
def test_re2_finds_what_python_re_finds(pattern, text):
    assert patterns.compile_pattern(pattern).search(text) == (re.search(pattern, text) is not None)


@settings(max_examples=200, deadline=None)
@given(
    pattern=SAFE_PATTERNS,
    instance=st.dictionaries(TEXTS, st.one_of(st.integers(), TEXTS), max_size=4),
)
def test_the_re2_validator_agrees_with_jsonschema(pattern, instance):
    # Stock jsonschema skips an empty patternProperties key when it looks for additional
    # properties (`if patterns and re.search(...)`): the oracle is wrong there, see below.
    assume(pattern != "")
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "pattern": pattern}},
        "patternProperties": {pattern: {"type": "integer"}},
        "additionalProperties": False,
    }
    ours = patterns.validator(schema)
    theirs = jsonschema.Draft202012Validator(schema)

    assert sorted(e.message for e in ours.iter_errors(instance)) == sorted(
        e.message for e in theirs.iter_errors(instance)
    )


def test_an_empty_pattern_property_matches_every_key():
    # The empty regular expression matches every string, so no key is additional.
    schema = {"patternProperties": {"": {"type": "integer"}}, "additionalProperties": False}
    validator = patterns.validator(schema)
    assert list(validator.iter_errors({"": 1, "any": 2})) == []
    assert [e.message for e in validator.iter_errors({"any": "x"})] == [
        "'x' is not of type 'integer'"
    ]
