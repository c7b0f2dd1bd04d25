"""The llm step's fields that need more than a type: messages, a JSON Schema, tools, guardrails.

Tools and guardrails take two forms, Stevora's objects (`LlmToolDef`, `GuardrailConfig`) and
our lists; each is checked as the worker will build it, so a stored step cannot fail on it later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.llm import guardrails as checks
from actors.registry import TOOL_NAME, is_tool
from actors.steps.fields import Definition, Field
from models.json_schema import record, ref
from models.validation import Fields

MESSAGE_ROLES = ("system", "user", "assistant")
GUARDRAIL_TYPES = tuple(checks.TYPE_FIELDS)


@dataclass(frozen=True, kw_only=True)
class Messages(Field):
    """The conversation to send: a non-empty list of `{role, content}`."""

    def check(self, step: Fields, name: str, definition: Definition) -> list | None:
        messages = step.obj.get(name)
        if name not in step.obj:
            step.add(name, "is required")
            return None
        if not isinstance(messages, list) or not messages:
            step.add(name, "must be a non-empty list of {role, content}")
            return None
        count = len(step.problems.fields)
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                step.add(f"{name}[{index}]", "must be an object with role and content")
                continue
            fields = Fields(step.problems, message, step.path(f"{name}[{index}]."))
            fields.only(("role", "content"))
            fields.choice("role", MESSAGE_ROLES)
            fields.string("content", min_length=0)
        return messages if len(step.problems.fields) == count else None

    def schema(self) -> dict[str, Any]:
        message = record({"role": {"enum": list(MESSAGE_ROLES)}, "content": {"type": "string"}})
        return {"type": "array", "items": message, "minItems": 1}


@dataclass(frozen=True, kw_only=True)
class JsonSchema(Field):
    """A JSON Schema whose patterns run in RE2."""

    def check(self, step: Fields, name: str, definition: Definition) -> dict | None:
        schema = step.object(name, required=self.required)
        if schema is None:
            return None
        problem = checks.schema_problem(schema)
        if problem is not None:
            step.add(name, problem)
            return None
        return schema

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass(frozen=True, kw_only=True)
class Tools(Field):
    """Registered LLM tools: their names, or Stevora's `LlmToolDef` objects."""

    def check(self, step: Fields, name: str, definition: Definition) -> list | None:
        items = step.obj.get(name)
        if name not in step.obj:
            return None
        if not isinstance(items, list):
            step.add(name, "must be a list of tool names or {name, description, parameters}")
            return None
        count = len(step.problems.fields)
        seen: set[str] = set()
        for index, item in enumerate(items):
            at = f"{name}[{index}]"
            if isinstance(item, dict):
                tool = Fields(step.problems, item, step.path(f"{at}."))
                tool.only(("name", "description", "parameters"))
                tool_name = tool.string("name", pattern=TOOL_NAME)
                tool.string("description", min_length=0, required=False)
                parameters = tool.object("parameters", required=False)
                problem = parameters is not None and checks.schema_problem(parameters)
                if problem:
                    tool.add("parameters", problem)
                where = f"{at}.name"
            elif isinstance(item, str) and item:
                tool_name, where = item, at
            else:
                step.add(at, "must be a tool name or an object {name, description, parameters}")
                continue
            if tool_name is None:
                continue
            if not is_tool(tool_name):
                step.add(where, f"no LLM tool is registered as {tool_name!r}")
            elif tool_name in seen:
                step.add(where, f"tool {tool_name!r} is offered twice")
            seen.add(tool_name)
        return items if len(step.problems.fields) == count else None

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"oneOf": [{"type": "string", "minLength": 1}, ref("LlmToolDef")]},
        }

    def components(self) -> dict[str, dict[str, Any]]:
        definition = record(
            {
                "name": {
                    "type": "string",
                    "pattern": f"^{TOOL_NAME.pattern}$",
                    "description": "A registered LLM tool.",
                },
                "description": {"type": "string", "description": "What the model is told."},
                "parameters": {
                    "type": "object",
                    "description": "A JSON Schema of the arguments; they are checked against it.",
                },
            },
            optional=("description", "parameters"),
        )
        definition["description"] = "A tool as the model sees it (default: as registered)."
        return {"LlmToolDef": definition}


@dataclass(frozen=True, kw_only=True)
class Guardrails(Field):
    """Checks of the final answer: a list of checks, or Stevora's `GuardrailConfig`."""

    def check(self, step: Fields, name: str, definition: Definition) -> Any:
        value = step.obj.get(name)
        if name not in step.obj:
            return None
        count = len(step.problems.fields)
        output_schema = _output_schema(step)
        if isinstance(value, list):
            for index, guardrail in enumerate(value):
                if _listed_shape(step, f"{name}[{index}]", guardrail):
                    _build(step, f"{name}[{index}]", index, guardrail, output_schema)
        elif isinstance(value, dict) and "postChecks" in value:
            config = Fields(step.problems, value, step.path(f"{name}."))
            config.only(("postChecks", "onFailure"))
            on_failure = config.choice("onFailure", checks.ON_FAILURE, required=False)
            post_checks = value.get("postChecks")
            if not isinstance(post_checks, list):
                config.add("postChecks", "must be a list of {type, config}")
            elif on_failure is not None or "onFailure" not in value:
                action = on_failure or checks.DEFAULT_CONFIG_ON_FAILURE
                for index, post_check in enumerate(post_checks):
                    at = f"postChecks[{index}]"
                    if _post_check_shape(config, at, post_check):
                        guardrail = checks.listed(post_check, action)
                        _build(config, at, index, guardrail, output_schema)
        else:
            step.add(name, "must be a list of checks or an object {postChecks, onFailure}")
        return value if len(step.problems.fields) == count else None

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [_checks_list(), ref("GuardrailConfig")]}

    def components(self) -> dict[str, dict[str, Any]]:
        post_check = record(
            {
                "type": {"enum": list(GUARDRAIL_TYPES)},
                "config": {
                    "type": "object",
                    "description": "The check's fields, as in the list form (and maxRetries).",
                },
            },
            optional=("config",),
        )
        config = record(
            {
                "postChecks": {"type": "array", "items": post_check},
                "onFailure": {"enum": list(checks.ON_FAILURE), "default": "warn"},
            },
            optional=("onFailure",),
        )
        config["description"] = "Stevora's form: one action for every check."
        return {"GuardrailConfig": config}


def _listed_shape(step: Fields, at: str, guardrail: Any) -> bool:
    """True when a check of the list form has a known type and action (its fields are
    judged by building it)."""
    if not isinstance(guardrail, dict):
        step.add(at, "must be an object")
        return False
    fields = Fields(step.problems, guardrail, step.path(f"{at}."))
    kind = fields.choice("type", GUARDRAIL_TYPES)
    action = fields.choice("onFailure", checks.ON_FAILURE, required=False)
    return kind is not None and (action is not None or "onFailure" not in guardrail)


def _post_check_shape(config: Fields, at: str, post_check: Any) -> bool:
    """True when a `postChecks` item is `{type, config?}` of a known type."""
    if not isinstance(post_check, dict):
        config.add(at, "must be an object {type, config}")
        return False
    fields = Fields(config.problems, post_check, config.path(f"{at}."))
    count = len(config.problems.fields)
    fields.only(("type", "config"))
    kind = fields.choice("type", GUARDRAIL_TYPES)
    own = fields.object("config", required=False)
    if own is not None and kind is not None:
        allowed = (*checks.TYPE_FIELDS[kind], "maxRetries")
        Fields(config.problems, own, fields.path("config.")).only(allowed)
    return kind is not None and len(config.problems.fields) == count


def _build(at: Fields, path: str, index: int, guardrail: dict, output_schema: dict | None) -> None:
    """Build the check as the worker will; what stops it is noted at `path`."""
    try:
        checks.build_one(index, guardrail, output_schema)
    except checks.GuardrailConfigError as exc:
        at.add(path, str(exc))


def _output_schema(step: Fields) -> dict | None:
    """The step's outputSchema when it is good (a bad one is reported as its own field)."""
    schema = step.obj.get("outputSchema")
    if not isinstance(schema, dict) or checks.schema_problem(schema) is not None:
        return None
    return schema


def _checks_list() -> dict[str, Any]:
    """The list form: each check with its own fields and `onFailure`."""
    names = {"type": "array", "items": {"type": "string", "minLength": 1}}
    content_safety = _listed(
        "content_safety",
        {
            "blockedTerms": {
                **names,
                "description": "Terms the answer may not contain (case-insensitive).",
            },
            "blockedPatterns": {
                **names,
                "description": "Regular expressions (RE2 syntax: no backreferences or "
                "lookaround) the answer may not match.",
            },
        },
        optional=("blockedTerms", "blockedPatterns"),
    )
    content_safety["anyOf"] = [
        {"required": ["blockedTerms"], "properties": {"blockedTerms": {"minItems": 1}}},
        {"required": ["blockedPatterns"], "properties": {"blockedPatterns": {"minItems": 1}}},
    ]
    schema_validation = _listed(
        "schema_validation",
        {
            "schema": {
                "type": ["object", "boolean"],
                "description": "A JSON Schema; default: the step's outputSchema.",
            }
        },
        optional=("schema",),
    )
    confidence_threshold = _listed(
        "confidence_threshold",
        {
            "field": {
                "type": "string",
                "minLength": 1,
                "description": "Dot path of a number in the answer.",
            },
            "threshold": {"type": "number"},
        },
    )
    items = [schema_validation, content_safety, confidence_threshold]
    return {"type": "array", "items": {"oneOf": items}}


def _listed(kind: str, fields: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    common = {
        "type": {"const": kind},
        "onFailure": {"enum": list(checks.ON_FAILURE), "default": checks.DEFAULT_ON_FAILURE},
        "maxRetries": {
            "type": "integer",
            "minimum": 0,
            "maximum": checks.MAX_RETRIES,
            "default": checks.DEFAULT_MAX_RETRIES,
        },
    }
    return record({**common, **fields}, optional=("onFailure", "maxRetries", *optional))
