"""The rules a workflow definition must meet to be stored (SPEC sections 3 and 5).

Definitions are immutable, so everything a worker would choke on later is refused now, every
problem at once, each named by its path (`steps[3].retry.maxAttempts`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from actors.llm.guardrails import GuardrailConfigError, schema_problem
from actors.llm.guardrails import build_one as build_guardrail
from actors.registry import is_registered, is_tool
from actors.steps.expressions import ExpressionError
from actors.steps.expressions import parse as parse_expression
from app.validation import Fields, Problems
from models.approvals import ApprovalRequest
from models.llm_calls import LlmCall
from models.signals import Signal

#: Fields of the definition itself.
DEFINITION_FIELDS = frozenset({"name", "version", "description", "steps"})

MAX_STEPS = 500
MAX_STEP_NAME = 100
#: Longest `outputKey`: a state key, held to a step name's length.
MAX_OUTPUT_KEY = MAX_STEP_NAME
#: Longest `approval.contentKey`: approval_request.content_key, which a worker writes it to.
MAX_CONTENT_KEY = ApprovalRequest.content_key.max_length
#: Longest `llm.model` and `fallbackModels` item: llm_call.model, which records each call.
MAX_MODEL = LlmCall.model.max_length
#: Longest `signalType` of a wait or external_event: signal.signal_type, the width of the
#: signals a resume or a broker message may send to match it.
MAX_SIGNAL_TYPE = Signal.signal_type.max_length
#: Longest `timeoutMs`, `durationMs` or `retry.backoffMs`: 100 years. A worker adds it to the
#: current time, which must stay a datetime (before year 10000).
MAX_DURATION_MS = 100 * 365 * 24 * 60 * 60 * 1000

#: Fields every step may carry, whatever its type.
COMMON_FIELDS = frozenset({"type", "name", "retry", "timeoutMs"})

#: Fields each step type adds to the common ones.
TYPE_FIELDS: dict[str, frozenset[str]] = {
    "task": frozenset({"handler", "config"}),
    "wait": frozenset({"durationMs", "untilTimestamp", "signalType"}),
    "condition": frozenset({"expression", "trueStep", "falseStep"}),
    "external_event": frozenset({"signalType"}),
    "approval": frozenset({"contentKey", "prompt", "onReject"}),
    "llm": frozenset(
        {
            "model",
            "fallbackModels",
            "systemPrompt",
            "messages",
            "temperature",
            "maxTokens",
            "responseFormat",
            "outputSchema",
            "tools",
            "maxToolRounds",
            "guardrails",
            "outputKey",
        }
    ),
}

STEP_TYPES = tuple(TYPE_FIELDS)
RETRY_FIELDS = frozenset({"maxAttempts", "backoffMs", "backoffMultiplier"})
MESSAGE_ROLES = ("system", "user", "assistant")
GUARDRAIL_TYPES = ("schema_validation", "content_safety", "confidence_threshold")
GUARDRAIL_ACTIONS = ("warn", "block", "retry_with_feedback")


def check_definition(body: dict[str, Any], problems: Problems) -> None:
    """Note in `problems` every way `body` (a create request) breaks the rules."""
    fields = Fields(problems, body)
    fields.only(DEFINITION_FIELDS)
    fields.string("name", max_length=200)
    fields.string("version", max_length=50)
    fields.string("description", min_length=0, max_length=1000, required=False)
    steps = body.get("steps")
    if "steps" not in body:
        problems.add("steps", "is required")
    elif not isinstance(steps, list):
        problems.add("steps", "must be a list")
    elif not 1 <= len(steps) <= MAX_STEPS:
        problems.add("steps", f"must have between 1 and {MAX_STEPS} steps")
    else:
        _check_steps(steps, problems)


def _check_steps(steps: list[Any], problems: Problems) -> None:
    names = _check_names(steps, problems)
    for index, step in enumerate(steps):
        at = f"steps[{index}]"
        if not isinstance(step, dict):
            problems.add(at, "must be an object")
            continue
        fields = Fields(problems, step, f"{at}.")
        kind = fields.choice("type", STEP_TYPES)
        if fields.object("retry", required=False) is not None:
            _check_retry(Fields(problems, step["retry"], f"{at}.retry."))
        fields.integer("timeoutMs", minimum=1, maximum=MAX_DURATION_MS, required=False)
        if kind is None:
            continue
        fields.only(COMMON_FIELDS | TYPE_FIELDS[kind])
        _TYPE_CHECKS[kind](fields, names)


def _check_names(steps: list[Any], problems: Problems) -> frozenset[str]:
    """Check each step's name; return the valid names (the targets of jumps)."""
    seen: dict[str, int] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        fields = Fields(problems, step, f"steps[{index}].")
        name = fields.string("name", max_length=MAX_STEP_NAME)
        if name is None:
            continue
        if name in seen:
            fields.add("name", f"duplicate step name {name!r} (also steps[{seen[name]}])")
        else:
            seen[name] = index
    return frozenset(seen)


def _check_retry(retry: Fields) -> None:
    retry.only(RETRY_FIELDS)
    retry.integer("maxAttempts", minimum=1, maximum=20, required=False)
    retry.integer("backoffMs", minimum=100, maximum=MAX_DURATION_MS, required=False)
    retry.number("backoffMultiplier", minimum=1, maximum=10, required=False)


def _task(step: Fields, names: frozenset[str]) -> None:
    handler = step.string("handler")
    if handler is not None and not is_registered(handler):
        step.add("handler", f"no task handler is registered as {handler!r}")
    step.object("config", required=False)


def _wait(step: Fields, names: frozenset[str]) -> None:
    has_duration, has_until = "durationMs" in step.obj, "untilTimestamp" in step.obj
    if not has_duration and not has_until:
        step.add("durationMs", "durationMs or untilTimestamp is required")
    elif has_duration and has_until:
        step.add("untilTimestamp", "give durationMs or untilTimestamp, not both")
    step.integer("durationMs", minimum=0, maximum=MAX_DURATION_MS, required=False)
    if has_until and not _is_timestamp(step.obj["untilTimestamp"]):
        step.add(
            "untilTimestamp",
            "must be an ISO-8601 timestamp with a timezone, e.g. 2026-11-28T21:40:32Z",
        )
    step.string("signalType", max_length=MAX_SIGNAL_TYPE, required=False)


def _condition(step: Fields, names: frozenset[str]) -> None:
    expression = step.string("expression")
    if expression is not None:
        try:
            parse_expression(expression)
        except ExpressionError as exc:
            step.add("expression", f"is not a valid condition: {exc}")
    for name in ("trueStep", "falseStep"):
        target = step.string(name, required=False)
        if target is not None and target not in names:
            step.add(name, f"names no step of this definition: {target!r}")


def _external_event(step: Fields, names: frozenset[str]) -> None:
    step.string("signalType", max_length=MAX_SIGNAL_TYPE)


def _approval(step: Fields, names: frozenset[str]) -> None:
    step.string("contentKey", max_length=MAX_CONTENT_KEY)
    step.string("prompt", min_length=0, required=False)
    step.choice("onReject", ("fail", "continue"), required=False)


def _llm(step: Fields, names: frozenset[str]) -> None:
    step.string("model", max_length=MAX_MODEL)
    _check_messages(step)
    _string_list(step, "fallbackModels", max_length=MAX_MODEL)
    step.string("systemPrompt", min_length=0, required=False)
    step.number("temperature", minimum=0, maximum=2, required=False)
    step.integer("maxTokens", minimum=1, required=False)
    step.choice("responseFormat", ("text", "json"), required=False)
    output_schema = step.object("outputSchema", required=False)
    if output_schema is not None and schema_problem(output_schema) is not None:
        step.add("outputSchema", schema_problem(output_schema))
    if _string_list(step, "tools"):
        for index, tool in enumerate(step.obj["tools"]):
            if not is_tool(tool):
                step.add(f"tools[{index}]", f"no LLM tool is registered as {tool!r}")
    step.integer("maxToolRounds", minimum=1, maximum=100, required=False)
    _check_guardrails(step)
    step.string("outputKey", max_length=MAX_OUTPUT_KEY, required=False)


def _check_messages(step: Fields) -> None:
    messages = step.obj.get("messages")
    if "messages" not in step.obj:
        step.add("messages", "is required")
        return
    if not isinstance(messages, list) or not messages:
        step.add("messages", "must be a non-empty list of {role, content}")
        return
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            step.add(f"messages[{index}]", "must be an object with role and content")
            continue
        fields = Fields(step.problems, message, step.path(f"messages[{index}]."))
        fields.only(("role", "content"))
        fields.choice("role", MESSAGE_ROLES)
        fields.string("content", min_length=0)


def _check_guardrails(step: Fields) -> None:
    """Each guardrail as the worker will build it: its schema, patterns and fields."""
    output_schema = step.obj.get("outputSchema")
    if not isinstance(output_schema, dict) or schema_problem(output_schema) is not None:
        output_schema = None  # Reported as the step's own field.
    guardrails = step.obj.get("guardrails")
    if "guardrails" not in step.obj:
        return
    if not isinstance(guardrails, list):
        step.add("guardrails", "must be a list")
        return
    for index, guardrail in enumerate(guardrails):
        if not isinstance(guardrail, dict):
            step.add(f"guardrails[{index}]", "must be an object")
            continue
        fields = Fields(step.problems, guardrail, step.path(f"guardrails[{index}]."))
        kind = fields.choice("type", GUARDRAIL_TYPES)
        action = fields.choice("onFailure", GUARDRAIL_ACTIONS, required=False)
        if kind is None or (action is None and "onFailure" in guardrail):
            continue
        try:
            build_guardrail(index, guardrail, output_schema)
        except GuardrailConfigError as exc:
            step.add(f"guardrails[{index}]", str(exc))


def _string_list(step: Fields, name: str, max_length: int | None = None) -> bool:
    """True when `name` is present and a list of non-empty strings, each at most `max_length`
    characters (an item over it is named by its index: `fallbackModels[1]`)."""
    if name not in step.obj:
        return False
    value = step.obj[name]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        step.add(name, "must be a list of non-empty strings")
        return False
    too_long = [i for i, v in enumerate(value) if max_length is not None and len(v) > max_length]
    for index in too_long:
        step.add(f"{name}[{index}]", f"must be at most {max_length} characters")
    return not too_long


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return False
        # The wait step compares it in UTC, and 0001-01-01T00:00+01:00 has no UTC datetime.
        parsed.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        return False
    return True


_TYPE_CHECKS: dict[str, Callable[[Fields, frozenset[str]], None]] = {
    "task": _task,
    "wait": _wait,
    "condition": _condition,
    "external_event": _external_event,
    "approval": _approval,
    "llm": _llm,
}
