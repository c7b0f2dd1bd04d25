"""Anthropic's messages wire format (`POST {base}/v1/messages`)."""

from __future__ import annotations

import json
from typing import Any

from actors.llm.conversation import Prompt, Reply, ToolCall
from actors.llm.errors import ProviderBadResponse
from actors.llm.http import post_json

#: The API version every request names (header `anthropic-version`).
API_VERSION = "2023-06-01"
#: Anthropic requires `max_tokens`; this is used when a step sets none.
DEFAULT_MAX_TOKENS = 4096


def complete(
    prompt: Prompt, base_url: str, api_key: str | None, connect_s: float, read_s: float
) -> Reply:
    headers = {"anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    answer = post_json(
        f"{base_url.rstrip('/')}/v1/messages", headers, request_body(prompt), connect_s, read_s
    )
    return parse_reply(answer)


def request_body(prompt: Prompt) -> dict[str, Any]:
    # System messages of the step join the system prompt: Anthropic takes them there only.
    system = [prompt.system] if prompt.system else []
    system += [m["content"] for m in prompt.messages if m["role"] == "system"]
    body: dict[str, Any] = {
        "model": prompt.model,
        "max_tokens": prompt.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _messages(m for m in prompt.messages if m["role"] != "system"),
    }
    if system:
        body["system"] = "\n\n".join(system)
    if prompt.temperature is not None:
        body["temperature"] = prompt.temperature
    if prompt.tools:
        body["tools"] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in prompt.tools
        ]
    return body


def _messages(messages: Any) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": message["content"],
            }
            # The results of one turn's calls go back together, in one user message.
            if wire and wire[-1]["role"] == "user" and isinstance(wire[-1]["content"], list):
                wire[-1]["content"].append(block)
            else:
                wire.append({"role": "user", "content": [block]})
        elif message.get("tool_calls"):
            blocks: list[dict[str, Any]] = []
            if message["content"]:
                blocks.append({"type": "text", "text": message["content"]})
            blocks += [
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": call.arguments or {},
                }
                for call in message["tool_calls"]
            ]
            wire.append({"role": "assistant", "content": blocks})
        else:
            wire.append({"role": message["role"], "content": message["content"]})
    return wire


def parse_reply(answer: dict[str, Any]) -> Reply:
    """The reply in a message; `ProviderBadResponse` when it has none."""
    try:
        texts, calls = [], []
        for block in answer["content"]:
            if block["type"] == "text":
                texts.append(block["text"])
            elif block["type"] == "tool_use":
                calls.append(_tool_call(block))
        usage = answer.get("usage") or {}
        return Reply(
            text="".join(texts),
            tool_calls=tuple(calls),
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            finish_reason=answer.get("stop_reason"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderBadResponse(f"not a message ({type(exc).__name__}: {exc})") from None


def _tool_call(block: dict[str, Any]) -> ToolCall:
    arguments = block.get("input")
    return ToolCall(
        id=block["id"],
        name=block["name"],
        raw_arguments=json.dumps(arguments),
        arguments=arguments if isinstance(arguments, dict) else None,
    )
