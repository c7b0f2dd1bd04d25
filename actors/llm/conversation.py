"""A provider-neutral conversation: what a step asks, and what a model answers.

Messages are dicts: `{"role": "system"|"user"|"assistant", "content": str}`, an assistant turn
that calls tools `{"role": "assistant", "content": str, "tool_calls": [ToolCall]}`, and a tool's
result `{"role": "tool", "tool_call_id": str, "name": str, "content": str}`. Each provider
module turns them into its own wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.registry import LlmTool


@dataclass(frozen=True)
class ToolCall:
    """A model's request to call one tool."""

    id: str
    name: str
    #: The arguments as the model wrote them (OpenAI sends a JSON string).
    raw_arguments: str
    #: Parsed arguments; None when `raw_arguments` is not a JSON object.
    arguments: dict[str, Any] | None


@dataclass(frozen=True)
class Prompt:
    """One request to a model."""

    model: str
    system: str | None
    messages: tuple[dict[str, Any], ...]
    tools: tuple[LlmTool, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class Reply:
    """A model's answer: text, tool calls, or both; and what it cost in tokens."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    input_tokens: int
    output_tokens: int
    #: Why the model stopped, in the provider's words (`stop`, `tool_calls`, `end_turn`, ...).
    finish_reason: str | None


def assistant_turn(reply: Reply) -> dict[str, Any]:
    """The message that puts `reply` into the conversation."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = list(reply.tool_calls)
    return message


def tool_result(call: ToolCall, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content}
