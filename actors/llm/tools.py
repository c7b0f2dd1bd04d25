"""Calling the tools a model asks for, and telling it what came of each call.

A tool that raises, a tool the step does not offer, and arguments that do not fit the tool's
schema all become an error result the model reads, so it can try another way. Only
`NonRetryableError` stops the step (`ToolAborted`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from actors.llm import patterns
from actors.llm.conversation import ToolCall
from actors.registry import LlmTool, NonRetryableError, get_tool

logger = logging.getLogger(__name__)

#: How much of a tool's result the event trace keeps.
TRACE_CHARS = 200


class ToolAborted(Exception):
    """A tool raised `NonRetryableError`: the step fails at once."""

    def __init__(self, name: str, error: NonRetryableError, trace: dict[str, Any]) -> None:
        super().__init__(f"tool {name!r} refused: {error or type(error).__name__}")
        self.name = name
        self.trace = trace


@dataclass(frozen=True)
class ToolResult:
    #: What the model is told.
    content: str
    #: What the event log shows: `{id, name, arguments, result | error, durationMs}`.
    trace: dict[str, Any]


def offered_tools(items: list[str | dict[str, Any]]) -> dict[str, LlmTool]:
    """The tools a step offers, by name: registered tools, each as the step describes it.

    An item is a registered tool's name, or Stevora's `LlmToolDef` `{name, description,
    parameters}`, whose description and parameters are what the model sees and what its
    arguments are checked against.

    Raises:
      UnknownTool: an item names no registered tool.
    """
    offered = {}
    for item in items:
        if isinstance(item, str):
            offered[item] = get_tool(item)
            continue
        tool = get_tool(item["name"])
        offered[tool.name] = dataclasses.replace(
            tool,
            description=item.get("description", tool.description),
            parameters=item.get("parameters", tool.parameters),
        )
    return offered


def call_tool(call: ToolCall, offered: dict[str, LlmTool], ctx: Any) -> ToolResult:
    """Run one tool call the model asked for."""
    trace: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
    tool = offered.get(call.name)
    if tool is None:
        return _error(trace, f"no tool named {call.name!r} is available")
    if call.arguments is None:
        trace["arguments"] = call.raw_arguments
        return _error(trace, "the arguments are not a JSON object")
    problems = _argument_problems(tool, call.arguments)
    if problems:
        return _error(trace, "invalid arguments: " + "; ".join(problems))
    started = time.monotonic()
    try:
        value = tool.fn(ctx, dict(call.arguments))
    except NonRetryableError as exc:
        trace["durationMs"] = _ms_since(started)
        trace["error"] = f"{type(exc).__name__}: {exc}"
        raise ToolAborted(call.name, exc, trace) from exc
    except Exception as exc:
        logger.info("llm tool %r raised in run %s", call.name, ctx.run_id, exc_info=True)
        trace["durationMs"] = _ms_since(started)
        return _error(trace, f"{type(exc).__name__}: {exc}")
    trace["durationMs"] = _ms_since(started)
    content = value if isinstance(value, str) else json.dumps(value, default=str)
    trace["result"] = _summary(content)
    return ToolResult(content, trace)


def _argument_problems(tool: LlmTool, arguments: dict[str, Any]) -> list[str]:
    validator = patterns.validator(tool.parameters)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(arguments)]


def _error(trace: dict[str, Any], message: str) -> ToolResult:
    trace["error"] = message
    return ToolResult(json.dumps({"error": message}), trace)


def _summary(content: str) -> str:
    return content if len(content) <= TRACE_CHARS else content[: TRACE_CHARS - 3] + "..."


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
