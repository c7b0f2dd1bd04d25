"""The schemas of a workflow definition's steps: one per step type, with the fields it allows.

The fields of each type are those `app.definition_rules` accepts (the test compares them); the
checks no schema can state (handlers and tools registered, condition targets naming steps, a
valid expression) are in each field's description.
"""

from __future__ import annotations

from typing import Any

from actors.llm.guardrails import DEFAULT_MAX_RETRIES, MAX_RETRIES
from app.definition_rules import (
    GUARDRAIL_ACTIONS,
    MAX_DURATION_MS,
    MAX_STEP_NAME,
    MESSAGE_ROLES,
    RETRY_FIELDS,
    STEP_TYPES,
)
from app.openapi.schemas import OBJECT, integer, record, ref, text

#: The component name of each step type's schema.
STEP_SCHEMA_NAMES = {
    "task": "TaskStep",
    "wait": "WaitStep",
    "condition": "ConditionStep",
    "external_event": "ExternalEventStep",
    "approval": "ApprovalStep",
    "llm": "LlmStep",
}


def _step(kind: str, fields: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    common = {
        "type": {"const": kind},
        "name": {**text(1, MAX_STEP_NAME), "description": "Unique within the definition."},
        "retry": ref("RetryPolicy"),
        "timeoutMs": integer(1, MAX_DURATION_MS),
    }
    return record({**common, **fields}, optional=("retry", "timeoutMs", *optional))


def _names(description: str) -> dict[str, Any]:
    return {"type": "array", "items": text(), "description": description}


def _guardrail(kind: str, fields: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    common = {
        "type": {"const": kind},
        "onFailure": {"enum": list(GUARDRAIL_ACTIONS), "default": "block"},
        "maxRetries": {**integer(0, MAX_RETRIES), "default": DEFAULT_MAX_RETRIES},
    }
    return record({**common, **fields}, optional=("onFailure", "maxRetries", *optional))


def _guardrails() -> dict[str, Any]:
    content_safety = _guardrail(
        "content_safety",
        {
            "blockedTerms": _names("Terms the answer may not contain (case-insensitive)."),
            "blockedPatterns": _names(
                "Regular expressions (RE2 syntax: no backreferences or lookaround) the answer "
                "may not match."
            ),
        },
        optional=("blockedTerms", "blockedPatterns"),
    )
    content_safety["anyOf"] = [
        {"required": ["blockedTerms"], "properties": {"blockedTerms": {"minItems": 1}}},
        {"required": ["blockedPatterns"], "properties": {"blockedPatterns": {"minItems": 1}}},
    ]
    return {
        "type": "array",
        "items": {
            "oneOf": [
                _guardrail(
                    "schema_validation",
                    {
                        "schema": {
                            "type": ["object", "boolean"],
                            "description": "A JSON Schema; default: the step's outputSchema.",
                        }
                    },
                    optional=("schema",),
                ),
                content_safety,
                _guardrail(
                    "confidence_threshold",
                    {
                        "field": {**text(), "description": "Dot path of a number in the answer."},
                        "threshold": {"type": "number"},
                    },
                ),
            ]
        },
    }


def step_schemas() -> dict[str, dict[str, Any]]:
    """`Step` (one of the step types, by `type`), each type's schema and `RetryPolicy`."""
    message = record({"role": {"enum": list(MESSAGE_ROLES)}, "content": {"type": "string"}})
    schemas = {
        "task": _step(
            "task",
            {
                "handler": {**text(), "description": "A registered task handler's name."},
                "config": OBJECT,
            },
            optional=("config",),
        ),
        "wait": _step(
            "wait",
            {
                "durationMs": integer(0, MAX_DURATION_MS),
                "untilTimestamp": {
                    "type": "string",
                    "format": "date-time",
                    "description": "With a timezone, and in years 1-9999 once in UTC.",
                },
                "signalType": {**text(), "description": "A resume with it ends the wait."},
            },
            optional=("durationMs", "untilTimestamp", "signalType"),
        ),
        "condition": _step(
            "condition",
            {
                "expression": {**text(), "description": "Over input and state; never eval."},
                "trueStep": {**text(), "description": "A step of this definition."},
                "falseStep": {**text(), "description": "A step of this definition."},
            },
            optional=("trueStep", "falseStep"),
        ),
        "external_event": _step("external_event", {"signalType": text()}),
        "approval": _step(
            "approval",
            {
                "contentKey": {**text(), "description": "The state member to approve."},
                "prompt": {"type": "string"},
                "onReject": {"enum": ["fail", "continue"], "default": "fail"},
            },
            optional=("prompt", "onReject"),
        ),
        "llm": _step(
            "llm",
            {
                "model": text(),
                "fallbackModels": _names("Models tried in turn when the model fails."),
                "systemPrompt": {"type": "string"},
                "messages": {"type": "array", "items": message, "minItems": 1},
                "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                "maxTokens": integer(1),
                "responseFormat": {"enum": ["text", "json"], "default": "text"},
                "outputSchema": {**OBJECT, "description": "A JSON Schema for the answer."},
                "tools": _names("Registered LLM tools the model may call."),
                "maxToolRounds": {**integer(1, 100), "default": 10},
                "guardrails": _guardrails(),
                "outputKey": {**text(1, MAX_STEP_NAME), "description": "Default: the name."},
            },
            optional=(
                "fallbackModels",
                "systemPrompt",
                "temperature",
                "maxTokens",
                "responseFormat",
                "outputSchema",
                "tools",
                "maxToolRounds",
                "guardrails",
                "outputKey",
            ),
        ),
    }
    schemas["wait"]["oneOf"] = [
        {"required": ["durationMs"], "not": {"required": ["untilTimestamp"]}},
        {"required": ["untilTimestamp"], "not": {"required": ["durationMs"]}},
    ]
    retry = record(
        {
            "maxAttempts": {**integer(1, 20), "description": "Default 3 (approval steps: 1)."},
            "backoffMs": {**integer(100, MAX_DURATION_MS), "default": 1000},
            "backoffMultiplier": {"type": "number", "minimum": 1, "maximum": 10, "default": 2},
        },
        optional=RETRY_FIELDS,
    )
    step = {
        "oneOf": [ref(STEP_SCHEMA_NAMES[kind]) for kind in STEP_TYPES],
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                kind: f"#/components/schemas/{STEP_SCHEMA_NAMES[kind]}" for kind in STEP_TYPES
            },
        },
    }
    return {
        "Step": step,
        "RetryPolicy": retry,
        **{STEP_SCHEMA_NAMES[kind]: schema for kind, schema in schemas.items()},
    }
