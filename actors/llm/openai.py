"""OpenAI's chat completions wire format (`POST {base}/chat/completions`).

Any server that speaks it works: OpenAI itself, or a local model server.
"""

from __future__ import annotations

import json
from typing import Any

from actors.llm.conversation import Prompt, Reply, ToolCall
from actors.llm.errors import ProviderBadResponse
from actors.llm.http import post_json

#: Reasoning models take `max_completion_tokens`; the rest (and most local servers) `max_tokens`.
_REASONING_PREFIXES = ("o1", "o3", "o4")


def complete(
    prompt: Prompt, base_url: str, api_key: str | None, connect_s: float, read_s: float
) -> Reply:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    answer = post_json(
        f"{base_url.rstrip('/')}/chat/completions", headers, request_body(prompt), connect_s, read_s
    )
    return parse_reply(answer)


def request_body(prompt: Prompt) -> dict[str, Any]:
    messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
    messages += [_message(m) for m in prompt.messages]
    body: dict[str, Any] = {"model": prompt.model, "messages": messages}
    if prompt.temperature is not None:
        body["temperature"] = prompt.temperature
    if prompt.max_tokens is not None:
        reasoning = prompt.model.startswith(_REASONING_PREFIXES)
        body["max_completion_tokens" if reasoning else "max_tokens"] = prompt.max_tokens
    if prompt.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in prompt.tools
        ]
    return body


def _message(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] == "tool":
        return {
            "role": "tool",
            "tool_call_id": message["tool_call_id"],
            "content": message["content"],
        }
    if message.get("tool_calls"):
        return {
            "role": "assistant",
            "content": message["content"] or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.raw_arguments},
                }
                for call in message["tool_calls"]
            ],
        }
    return {"role": message["role"], "content": message["content"]}


def parse_reply(answer: dict[str, Any]) -> Reply:
    """The reply in a chat completion; `ProviderBadResponse` when it has none."""
    try:
        choice = answer["choices"][0]
        message = choice["message"]
        calls = tuple(_tool_call(call) for call in message.get("tool_calls") or ())
        usage = answer.get("usage") or {}
        return Reply(
            text=message.get("content") or "",
            tool_calls=calls,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason"),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderBadResponse(f"not a chat completion ({type(exc).__name__}: {exc})") from None


def _tool_call(call: dict[str, Any]) -> ToolCall:
    function = call["function"]
    raw = function.get("arguments") or "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError:
        arguments = None
    return ToolCall(
        id=call["id"],
        name=function["name"],
        raw_arguments=raw,
        arguments=arguments if isinstance(arguments, dict) else None,
    )
