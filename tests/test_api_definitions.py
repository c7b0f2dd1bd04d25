"""POST/GET /v1/workflow-definitions: every rule of SPEC section 3 and the step fields of 5."""

from __future__ import annotations

import copy

import pytest

from actors.steps.fields import MAX_DURATION_MS
from models.definitions import WorkflowDefinition
from tests.api_support import TIMESTAMP, assert_error, create_definition, definition_body, task_step

DROP = object()

#: One valid step of every type; `check` refers to steps by these names.
ALL_TYPES = [
    {
        "type": "task",
        "name": "charge",
        "handler": "add",
        "config": {"amount": 3},
        "retry": {"maxAttempts": 5, "backoffMs": 100, "backoffMultiplier": 1.5},
        "timeoutMs": 30000,
    },
    {"type": "wait", "name": "pause", "durationMs": 0, "signalType": "skip"},
    {"type": "wait", "name": "until", "untilTimestamp": "2026-11-28T21:40:32.123Z"},
    {
        "type": "condition",
        "name": "check",
        "expression": "state.total > 2 and not input.dry",
        "trueStep": "charge",
        "falseStep": "publish",
    },
    {"type": "external_event", "name": "paid", "signalType": "payment.received", "timeoutMs": 1},
    {
        "type": "approval",
        "name": "review",
        "contentKey": "draft",
        "prompt": "Publish?",
        "onReject": "continue",
        "retry": {"maxAttempts": 1},
    },
    {
        "type": "llm",
        "name": "publish",
        "model": "gpt-4o-mini",
        "fallbackModels": ["claude-3-5-haiku"],
        "systemPrompt": "Be brief.",
        "messages": [{"role": "user", "content": "Summarize {{input.text}}"}],
        "temperature": 0.2,
        "maxTokens": 200,
        "responseFormat": "json",
        "outputSchema": {"type": "object"},
        "tools": ["lookup"],
        "maxToolRounds": 3,
        "guardrails": [{"type": "schema_validation", "onFailure": "retry_with_feedback"}],
        "outputKey": "summary",
    },
]
INDEX = {step["name"]: index for index, step in enumerate(ALL_TYPES)}


def with_step(step_name: str, /, **changes) -> dict:
    """ALL_TYPES with the step called `step_name` changed (DROP removes a field)."""
    steps = copy.deepcopy(ALL_TYPES)
    step = steps[INDEX[step_name]]
    for key, value in changes.items():
        if value is DROP:
            step.pop(key, None)
        else:
            step[key] = value
    return definition_body(steps=steps)


def post(client, auth, body):
    return client.simulate_post("/v1/workflow-definitions", json=body, headers=auth)


def test_a_definition_with_every_step_type_is_created(client, auth, workspace):
    body = definition_body(steps=ALL_TYPES)
    result = post(client, auth, body)
    assert result.status_code == 201, result.text
    data = result.json["data"]
    assert set(data) == {
        "id",
        "workspaceId",
        "name",
        "version",
        "description",
        "steps",
        "concurrency",
        "createdAt",
        "updatedAt",
    }
    assert data["concurrency"] is None
    assert data["id"].startswith("wfdef_") and data["workspaceId"] == workspace[0].id
    assert data["steps"] == ALL_TYPES and data["description"] == "adds things up"
    assert TIMESTAMP.match(data["createdAt"])
    assert WorkflowDefinition.get_by_id(data["id"]).steps == ALL_TYPES


def test_description_is_optional(client, auth):
    body = definition_body()
    del body["description"]
    result = post(client, auth, body)
    assert result.status_code == 201 and result.json["data"]["description"] is None


TOP_LEVEL_CASES = [
    ({"name": DROP}, "name"),
    ({"name": ""}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": 12}, "name"),
    ({"version": DROP}, "version"),
    ({"version": ""}, "version"),
    ({"version": "v" * 51}, "version"),
    ({"version": 2}, "version"),
    ({"description": "d" * 1001}, "description"),
    ({"description": ["x"]}, "description"),
    ({"steps": DROP}, "steps"),
    ({"steps": []}, "steps"),
    ({"steps": {"a": 1}}, "steps"),
    ({"steps": [task_step(f"s{n}") for n in range(501)]}, "steps"),
    ({"owner": "me"}, "owner"),
]


@pytest.mark.parametrize(("changes", "field"), TOP_LEVEL_CASES)
def test_top_level_rules(client, auth, changes, field):
    body = definition_body()
    for key, value in changes.items():
        if value is DROP:
            body.pop(key)
        else:
            body[key] = value
    error = assert_error(post(client, auth, body), 400, "VALIDATION_ERROR", field)
    assert error["message"] == "the workflow definition is invalid"
    assert WorkflowDefinition.select().count() == 0


STEP_CASES = [
    # Common fields: type, name, retry, timeoutMs, unknown fields.
    ("charge", {"type": DROP}, "type"),
    ("charge", {"type": "script"}, "type"),
    ("charge", {"name": DROP}, "name"),
    ("charge", {"name": ""}, "name"),
    ("charge", {"name": "n" * 101}, "name"),
    ("charge", {"name": 5}, "name"),
    ("pause", {"name": "charge"}, "name"),
    ("charge", {"retry": 3}, "retry"),
    ("charge", {"retry": {"maxAttempts": 0}}, "retry.maxAttempts"),
    ("charge", {"retry": {"maxAttempts": 21}}, "retry.maxAttempts"),
    ("charge", {"retry": {"maxAttempts": "3"}}, "retry.maxAttempts"),
    ("charge", {"retry": {"maxAttempts": True}}, "retry.maxAttempts"),
    ("charge", {"retry": {"maxAttempts": 2.5}}, "retry.maxAttempts"),
    ("charge", {"retry": {"backoffMs": 99}}, "retry.backoffMs"),
    ("charge", {"retry": {"backoffMultiplier": 0.5}}, "retry.backoffMultiplier"),
    ("charge", {"retry": {"backoffMultiplier": 10.5}}, "retry.backoffMultiplier"),
    ("charge", {"retry": {"backoffMultiplier": "2"}}, "retry.backoffMultiplier"),
    ("charge", {"retry": {"maxAttempts": 2, "jitter": True}}, "retry.jitter"),
    ("charge", {"timeoutMs": 0}, "timeoutMs"),
    ("charge", {"timeoutMs": 0.9}, "timeoutMs"),
    ("charge", {"timeoutMs": -1}, "timeoutMs"),
    ("charge", {"timeoutMs": "1000"}, "timeoutMs"),
    ("charge", {"timeoutMs": MAX_DURATION_MS + 1}, "timeoutMs"),
    ("charge", {"retry": {"backoffMs": MAX_DURATION_MS + 1}}, "retry.backoffMs"),
    ("charge", {"durationMs": 5}, "durationMs"),
    ("review", {"model": "gpt-4o"}, "model"),
    # task
    ("charge", {"handler": DROP}, "handler"),
    ("charge", {"handler": ""}, "handler"),
    ("charge", {"handler": "not_registered"}, "handler"),
    ("charge", {"handler": ["add"]}, "handler"),
    ("charge", {"config": [1, 2]}, "config"),
    ("charge", {"config": None}, "config"),
    # wait
    ("pause", {"durationMs": DROP}, "durationMs"),
    ("pause", {"durationMs": -1}, "durationMs"),
    ("pause", {"durationMs": "10"}, "durationMs"),
    ("pause", {"durationMs": MAX_DURATION_MS + 1}, "durationMs"),
    ("until", {"untilTimestamp": "tomorrow"}, "untilTimestamp"),
    ("until", {"untilTimestamp": 1764366032}, "untilTimestamp"),
    ("until", {"untilTimestamp": "0001-01-01T00:00:00+05:00"}, "untilTimestamp"),
    ("until", {"untilTimestamp": "9999-12-31T23:59:59-05:00"}, "untilTimestamp"),
    ("pause", {"signalType": 7}, "signalType"),
    ("pause", {"handler": "add"}, "handler"),
    # condition
    ("check", {"expression": DROP}, "expression"),
    ("check", {"expression": ""}, "expression"),
    ("check", {"expression": "   "}, "expression"),
    ("check", {"expression": True}, "expression"),
    ("check", {"trueStep": "nowhere"}, "trueStep"),
    ("check", {"falseStep": "nowhere"}, "falseStep"),
    ("check", {"trueStep": 0}, "trueStep"),
    ("check", {"config": {}}, "config"),
    # external_event
    ("paid", {"signalType": DROP}, "signalType"),
    ("paid", {"signalType": ""}, "signalType"),
    ("paid", {"durationMs": 10}, "durationMs"),
    # approval
    ("review", {"contentKey": DROP}, "contentKey"),
    ("review", {"contentKey": ""}, "contentKey"),
    ("review", {"onReject": "retry"}, "onReject"),
    ("review", {"prompt": 1}, "prompt"),
    ("review", {"approvers": ["ann"]}, "approvers"),
    # llm
    ("publish", {"model": DROP}, "model"),
    ("publish", {"model": ""}, "model"),
    ("publish", {"messages": DROP}, "messages"),
    ("publish", {"messages": []}, "messages"),
    ("publish", {"messages": "hello"}, "messages"),
    ("publish", {"messages": ["hello"]}, "messages[0]"),
    ("publish", {"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ("publish", {"messages": [{"role": "user"}]}, "messages[0].content"),
    ("publish", {"messages": [{"role": "user", "content": "x", "name": "a"}]}, "messages[0].name"),
    ("publish", {"fallbackModels": [""]}, "fallbackModels"),
    ("publish", {"systemPrompt": {}}, "systemPrompt"),
    ("publish", {"temperature": 2.5}, "temperature"),
    ("publish", {"maxTokens": 0}, "maxTokens"),
    ("publish", {"responseFormat": "xml"}, "responseFormat"),
    ("publish", {"outputSchema": "object"}, "outputSchema"),
    ("publish", {"tools": "lookup"}, "tools"),
    ("publish", {"maxToolRounds": 0}, "maxToolRounds"),
    ("publish", {"guardrails": {"type": "content_safety"}}, "guardrails"),
    ("publish", {"guardrails": [{"type": "profanity"}]}, "guardrails[0].type"),
    (
        "publish",
        {"guardrails": [{"type": "content_safety", "onFailure": "x"}]},
        "guardrails[0].onFailure",
    ),
    ("publish", {"outputKey": ""}, "outputKey"),
    ("publish", {"handler": "add"}, "handler"),
]


@pytest.mark.parametrize(
    ("step", "changes", "field"), STEP_CASES, ids=[f"{c[0]}.{c[2]}" for c in STEP_CASES]
)
def test_step_rules(client, auth, step, changes, field):
    path = f"steps[{INDEX[step]}].{field}"
    error = assert_error(post(client, auth, with_step(step, **changes)), 400, "VALIDATION_ERROR")
    assert path in [item["field"] for item in error["details"]["fields"]], error
    assert WorkflowDefinition.select().count() == 0


def test_a_step_that_is_not_an_object(client, auth):
    body = definition_body(steps=[task_step("a"), "b"])
    assert_error(post(client, auth, body), 400, "VALIDATION_ERROR", "steps[1]")


def test_every_problem_is_reported_at_once(client, auth):
    steps = copy.deepcopy(ALL_TYPES)
    steps[INDEX["charge"]]["handler"] = "missing"
    steps[INDEX["charge"]]["retry"] = {"maxAttempts": 99}
    steps[INDEX["check"]]["trueStep"] = "ghost"
    steps[INDEX["publish"]]["name"] = "charge"
    body = definition_body(name="", steps=steps, extra=True)
    error = assert_error(post(client, auth, body), 400, "VALIDATION_ERROR")
    assert sorted(item["field"] for item in error["details"]["fields"]) == sorted(
        [
            "name",
            "extra",
            "steps[0].handler",
            "steps[0].retry.maxAttempts",
            f"steps[{INDEX['check']}].trueStep",
            # The renamed step was the condition's falseStep.
            f"steps[{INDEX['check']}].falseStep",
            f"steps[{INDEX['publish']}].name",
        ]
    )
    assert all(item["message"] for item in error["details"]["fields"])


def test_a_condition_may_jump_to_itself(client, auth):
    body = with_step("check", trueStep="check", falseStep=DROP)
    assert post(client, auth, body).status_code == 201


def test_a_repeated_name_and_version_is_409(client, auth, other_workspace):
    create_definition(client, auth, name="orders", version="1")
    assert_error(post(client, auth, definition_body(name="orders", version="1")), 409, "CONFLICT")
    assert post(client, auth, definition_body(name="orders", version="2")).status_code == 201
    other = {"x-api-key": other_workspace[1]}
    assert post(client, other, definition_body(name="orders", version="1")).status_code == 201
    assert WorkflowDefinition.select().count() == 3


def test_get_one(client, auth):
    created = create_definition(client, auth)
    result = client.simulate_get(f"/v1/workflow-definitions/{created['id']}", headers=auth)
    assert result.status_code == 200
    assert result.json == {"success": True, "data": created}


def test_get_an_unknown_definition_is_404(client, auth):
    missing = "wfdef_" + "0" * 26
    result = client.simulate_get(f"/v1/workflow-definitions/{missing}", headers=auth)
    assert_error(result, 404, "NOT_FOUND")


def test_list_is_newest_first_with_pagination_and_a_name_filter(client, auth):
    made = [
        create_definition(client, auth, name=name, version=str(v))
        for name, v in [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("c", 1)]
    ]
    everything = client.simulate_get("/v1/workflow-definitions", headers=auth).json
    assert [d["id"] for d in everything["data"]] == [d["id"] for d in reversed(made)]
    assert everything["meta"] == {"page": 1, "pageSize": 20, "total": 5, "totalPages": 1}
    named = client.simulate_get(
        "/v1/workflow-definitions", query_string="name=a&pageSize=2&page=2", headers=auth
    ).json
    assert [d["version"] for d in named["data"]] == ["1"]
    assert named["meta"] == {"page": 2, "pageSize": 2, "total": 3, "totalPages": 2}
    none = client.simulate_get(
        "/v1/workflow-definitions", query_string="name=zzz", headers=auth
    ).json
    assert none["data"] == [] and none["meta"]["total"] == 0 and none["meta"]["totalPages"] == 0


def test_list_refuses_an_overlong_name_filter(client, auth):
    result = client.simulate_get(
        "/v1/workflow-definitions", query_string="name=" + "n" * 201, headers=auth
    )
    assert_error(result, 400, "VALIDATION_ERROR", "name")
