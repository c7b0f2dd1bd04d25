"""The llm step: ask a model, run the tools it calls, check its answer, record every call.

The answer goes to `state[outputKey]` (parsed JSON when `responseFormat` is `json`). The
provider calls, failed ones included, travel with the outcome as `LlmCall` records; the driver
stores them with the step's outcome and adds their cost to the run's total.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dramatiq.middleware import TimeLimitExceeded

from actors.llm import guardrails as checks
from actors.llm.answers import AnswerNotJson, parse_json
from actors.llm.calls import CallLog, CallRefused, ModelsExhausted
from actors.llm.conversation import Prompt, Reply, assistant_turn, tool_result
from actors.llm.errors import ProviderNotConfigured
from actors.llm.fields import Guardrails, JsonSchema, Messages, Tools
from actors.llm.pricing import PriceTableError, price_table
from actors.llm.providers import provider_for
from actors.llm.tools import ToolAborted, call_tool, offered_tools
from actors.registry import LlmTool, UnknownTool
from actors.steps.context import StepContext
from actors.steps.fields import Choice, Integer, Names, Number, Text, WholeNumber
from actors.steps.outcomes import Completed, Failed, Outcome
from actors.steps.step_type import MAX_STEP_NAME
from actors.steps.templates import Budget, TemplateError, render
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from actors.steps.types import StepType, register
from models import config
from models.llm_calls import LlmCall

DEFAULT_MAX_TOOL_ROUNDS = 10


class StepFailure(Exception):
    """Ends the step with a failure; carried out of the loops to `run_llm`."""

    def __init__(
        self, code: str, message: str, details: dict | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message)
        self.failed = Failed(code, message, details or {}, retryable)


@dataclass(frozen=True)
class Answer:
    value: Any
    reply: Reply
    #: Guardrails the answer failed that only warn.
    warnings: list[dict[str, Any]]
    tool_rounds: int
    feedback_rounds: int


def run_llm(step: dict, ctx: StepContext) -> Outcome:
    try:
        prompt = _prompt(step, ctx)
        tools = _tools(step)
        guardrails = _guardrails(step)
        log = _call_log(step)
    except StepFailure as failure:
        return failure.failed
    try:
        answer = _converse(step, ctx, log, prompt, tools, guardrails)
    except StepFailure as failure:
        return _with_calls(failure.failed, log)
    except TimeLimitExceeded:
        # Dramatiq's bound on an actor call: the calls made so far are still recorded.
        timed_out = Failed(
            "STEP_TIMEOUT",
            "the llm step ran past the worker's time limit",
            {"timeLimitMs": STEP_TIME_LIMIT_MS},
        )
        return _with_calls(timed_out, log)
    key = step.get("outputKey") or step["name"]
    return Completed(
        updates={key: answer.value}, output=_output(key, answer, log), llm_calls=tuple(log.calls)
    )


def _prompt(step: dict, ctx: StepContext) -> Prompt:
    """The first request, templates rendered (the model is filled in per call)."""
    budget = Budget()  # one for the whole prompt: system and every message
    try:
        system = step.get("systemPrompt")
        if system is not None:
            system = _text(render(system, ctx.input, ctx.state, budget))
        messages = tuple(
            {
                "role": m["role"],
                "content": _text(render(m["content"], ctx.input, ctx.state, budget)),
            }
            for m in step["messages"]
        )
    except TemplateError as exc:
        raise StepFailure(exc.code, str(exc), exc.details) from None
    return Prompt(
        model=step["model"],
        system=system or None,
        messages=messages,
        temperature=step.get("temperature"),
        max_tokens=step.get("maxTokens"),
    )


def _tools(step: dict) -> dict[str, LlmTool]:
    try:
        return offered_tools(step.get("tools") or [])
    except UnknownTool as exc:
        raise StepFailure(
            "LLM_TOOL_NOT_FOUND",
            f"no LLM tool is registered as {exc.args[0]!r} in this worker",
            {"tool": exc.args[0]},
        ) from None


def _guardrails(step: dict) -> list[checks.Guardrail]:
    try:
        return checks.build(checks.as_checks(step.get("guardrails")), step.get("outputSchema"))
    except checks.GuardrailConfigError as exc:
        raise StepFailure("LLM_GUARDRAIL_INVALID", str(exc)) from None


def _call_log(step: dict) -> CallLog:
    """The models in fallback order with their providers, and the prices: all checked before
    the first call, so a misconfigured step costs nothing."""
    names = [step["model"], *(step.get("fallbackModels") or ())]
    try:
        models = [(name, provider_for(name)) for name in names]
    except ProviderNotConfigured as exc:
        raise StepFailure("LLM_PROVIDER_NOT_CONFIGURED", exc.message) from None
    try:
        prices = price_table()
    except PriceTableError as exc:
        raise StepFailure("LLM_PRICES_INVALID", str(exc)) from None
    read_ms = step.get("timeoutMs") or config.current().llm_read_timeout_ms
    return CallLog(models, prices, read_ms / 1000, step["name"])


def _converse(
    step: dict,
    ctx: StepContext,
    log: CallLog,
    prompt: Prompt,
    tools: dict[str, LlmTool],
    guardrails: list[checks.Guardrail],
) -> Answer:
    """Ask, run tools, and ask again until the model answers in a way the guardrails accept.

    `maxToolRounds` bounds the rounds of tool calls over the whole step; each guardrail's
    `maxRetries` bounds the times it sends the model back.
    """
    max_rounds = step.get("maxToolRounds", DEFAULT_MAX_TOOL_ROUNDS)
    wants_json = step.get("responseFormat") == "json"
    messages = list(prompt.messages)
    retries_left = {g.index: g.max_retries for g in guardrails}
    tool_rounds = feedback_rounds = 0
    while True:
        reply = _ask(log, prompt, messages, tuple(tools.values()))
        if reply.tool_calls:
            if tool_rounds >= max_rounds:
                raise StepFailure(
                    "LLM_TOOL_ROUNDS_EXCEEDED",
                    f"the model still called tools after {max_rounds} rounds",
                    {"maxToolRounds": max_rounds},
                )
            tool_rounds += 1
            messages.append(assistant_turn(reply))
            messages += _run_tools(reply, tools, ctx, log)
            continue
        value = _value(reply.text, wants_json)
        found = checks.violations(guardrails, reply.text, value)
        _block(found, checks.BLOCK)
        again = [v for v in found if v.guardrail.on_failure == checks.RETRY]
        if again:
            if any(retries_left[v.guardrail.index] == 0 for v in again):
                _block(again, checks.RETRY, f" after {feedback_rounds} retries with feedback")
            for violation in again:
                retries_left[violation.guardrail.index] -= 1
            feedback_rounds += 1
            messages.append(assistant_turn(reply))
            messages.append({"role": "user", "content": checks.feedback(again)})
            continue
        warnings = [v.as_record() for v in found]
        return Answer(value, reply, warnings, tool_rounds, feedback_rounds)


def _ask(
    log: CallLog, prompt: Prompt, messages: list[dict[str, Any]], tools: tuple[LlmTool, ...]
) -> Reply:
    request = Prompt(
        model=prompt.model,
        system=prompt.system,
        messages=tuple(messages),
        tools=tools,
        temperature=prompt.temperature,
        max_tokens=prompt.max_tokens,
    )
    try:
        return log.ask(request)
    except CallRefused as exc:
        raise StepFailure(
            "LLM_PROVIDER_ERROR",
            f"model {exc.model} refused the request: {exc.error.message}",
            {"model": exc.model, **exc.error.as_record()},
        ) from None
    except ModelsExhausted as exc:
        raise StepFailure(
            "LLM_PROVIDER_ERROR",
            f"every model failed ({', '.join(e['model'] for e in exc.errors)})",
            {"errors": exc.errors},
            retryable=True,
        ) from None


def _run_tools(
    reply: Reply, tools: dict[str, LlmTool], ctx: StepContext, log: CallLog
) -> list[dict[str, Any]]:
    """Call each tool the reply asks for; their results, as messages for the model."""
    results, traces = [], []
    try:
        for call in reply.tool_calls:
            result = call_tool(call, tools, ctx)
            results.append(tool_result(call, result.content))
            traces.append(result.trace)
    except ToolAborted as exc:
        traces.append(exc.trace)
        raise StepFailure("LLM_TOOL_FAILED", str(exc), {"tool": exc.name}) from None
    finally:
        log.trace_tools(traces)
    return results


def _value(text: str, wants_json: bool) -> Any:
    if not wants_json:
        return text
    try:
        return parse_json(text)
    except AnswerNotJson as exc:
        # Another attempt may well answer in JSON: the step's retry policy decides.
        raise StepFailure("LLM_INVALID_JSON", str(exc), retryable=True) from None


def _block(found: list[checks.Violation], on_failure: str, after: str = "") -> None:
    """Fail the step if any guardrail the answer failed has `on_failure`."""
    blocking = [v for v in found if v.guardrail.on_failure == on_failure]
    if blocking:
        names = ", ".join(v.guardrail.type for v in blocking)
        raise StepFailure(
            "GUARDRAIL_BLOCKED",
            f"the answer failed guardrails{after}: {names}",
            {"violations": [v.as_record() for v in blocking]},
        )


def _output(key: str, answer: Answer, log: CallLog) -> dict[str, Any]:
    """The step run's recorded output: the answer and what it took."""
    return {
        "outputKey": key,
        "result": answer.value,
        "model": log.model,
        "provider": log.provider,
        "inputTokens": sum(call.input_tokens for call in log.calls),
        "outputTokens": sum(call.output_tokens for call in log.calls),
        "costUsd": float(sum(Decimal(str(call.cost_usd)) for call in log.calls)),
        "llmCalls": len(log.calls),
        "toolRounds": answer.tool_rounds,
        "feedbackRounds": answer.feedback_rounds,
        "finishReason": answer.reply.finish_reason,
        "guardrails": answer.warnings,
    }


def _with_calls(failed: Failed, log: CallLog) -> Failed:
    return dataclasses.replace(failed, llm_calls=tuple(log.calls))


def _text(value: Any) -> str:
    """A rendered template as message text: JSON for anything that is not a string."""
    return value if isinstance(value, str) else json.dumps(value)


#: Longest model name: llm_call.model, which records each call.
MAX_MODEL = LlmCall.model.max_length

LLM = register(
    StepType(
        name="llm",
        description="Asks a model, runs the tools it calls, checks its answer; the answer goes "
        "to `state[outputKey]`.",
        fields={
            "model": Text(max_length=MAX_MODEL),
            "fallbackModels": Names(
                required=False,
                max_length=MAX_MODEL,
                description="Models tried in turn when the model fails.",
            ),
            "systemPrompt": Text(required=False, min_length=0),
            "messages": Messages(),
            "temperature": Number(required=False, minimum=0, maximum=2),
            "maxTokens": WholeNumber(required=False, minimum=1),
            "responseFormat": Choice(required=False, choices=("text", "json"), default="text"),
            "outputSchema": JsonSchema(required=False, description="A JSON Schema for the answer."),
            "tools": Tools(
                required=False,
                description="Registered LLM tools the model may call: names or LlmToolDef.",
            ),
            "maxToolRounds": Integer(
                required=False, minimum=1, maximum=100, default=DEFAULT_MAX_TOOL_ROUNDS
            ),
            "guardrails": Guardrails(required=False),
            "outputKey": Text(
                required=False, max_length=MAX_STEP_NAME, description="Default: the name."
            ),
        },
        run=run_llm,
    )
)
