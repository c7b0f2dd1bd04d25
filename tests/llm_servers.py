"""Local HTTP servers that speak the OpenAI and Anthropic wire formats, for the llm tests.

Each test starts its own on 127.0.0.1 (a free port) and scripts the answers, in order:
text, tool calls, errors, slow answers. Every request is kept (path, headers, JSON body) for
the test to look at. Nothing here touches the code under test: it calls these servers through
its real HTTP client, as it would call the providers.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import change_settings

OPENAI, ANTHROPIC = "openai", "anthropic"
OPENAI_KEY = "sk-test-openai"
ANTHROPIC_KEY = "sk-ant-test"


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a reply (text and tool calls) or an error, maybe late."""

    text: str = ""
    #: (name, arguments) of each tool the model calls.
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    input_tokens: int = 100
    output_tokens: int = 20
    #: An error status and message instead of a reply.
    status: int = 200
    message: str = ""
    #: Seconds to wait before answering at all.
    delay: float = 0.0


def text(content: str, input_tokens: int = 100, output_tokens: int = 20) -> Answer:
    return Answer(text=content, input_tokens=input_tokens, output_tokens=output_tokens)


def tools(*calls: tuple[str, dict[str, Any]], content: str = "", **usage: int) -> Answer:
    return Answer(text=content, tool_calls=tuple(calls), **usage)


def error(status: int, message: str = "scripted failure") -> Answer:
    return Answer(status=status, message=message)


def slow(seconds: float, answer: Answer) -> Answer:
    return dataclasses.replace(answer, delay=seconds)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeProvider:
    """A provider's API on a free local port; use as a context manager."""

    wire: str
    answers: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        # A short poll, so that stopping the server at the end of a test is quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, as `OPENAI_BASE_URL` or `ANTHROPIC_BASE_URL` would name it."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.wire == OPENAI else "")

    def script(self, *answers: Answer) -> None:
        with self.lock:
            self.answers.extend(answers)

    def bodies(self) -> list[dict[str, Any]]:
        return [request.body for request in self.requests]

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def next_answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            if not self.answers:
                return error(500, "the test scripted no more answers")
            return self.answers.pop(0)


def point_at(monkeypatch, openai: FakeProvider | None = None, anthropic=None, **changes) -> None:
    """Make the worker's LLM settings name these servers (and take `changes`).

    The llm modules read `models.config.current()` each time a step runs, so changing it is
    what setting the variables would have done.
    """
    if openai is not None:
        changes.setdefault("openai_base_url", openai.url)
        changes.setdefault("openai_api_key", OPENAI_KEY)
    if anthropic is not None:
        changes.setdefault("anthropic_base_url", anthropic.url)
        changes.setdefault("anthropic_api_key", ANTHROPIC_KEY)
    change_settings(monkeypatch, **changes)


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    wire = _OpenAiWire() if provider.wire == OPENAI else _AnthropicWire()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != wire.path:
                self._send(404, wire.error(404, f"no route {self.path}"))
                return
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                self._send(400, wire.error(400, "the body is not JSON"))
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            refusal = wire.refusal(headers)
            if refusal is not None:
                self._send(refusal[0], wire.error(*refusal))
                return
            answer = provider.next_answer(Request(self.path, headers, body))
            if answer.delay and provider.stopping.wait(answer.delay):
                return
            if answer.status != 200:
                self._send(answer.status, wire.error(answer.status, answer.message))
            else:
                self._send(200, wire.reply(body, answer, len(provider.requests)))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # The client gave up (a read timeout): as a real server would see it.

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _OpenAiWire:
    path = "/v1/chat/completions"

    def refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return 401, "Incorrect API key provided"
        return None

    def reply(self, request: dict[str, Any], answer: Answer, number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
        if answer.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{number}_{index}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
                for index, (name, arguments) in enumerate(answer.tool_calls)
            ]
        return {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if answer.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": answer.input_tokens,
                "completion_tokens": answer.output_tokens,
                "total_tokens": answer.input_tokens + answer.output_tokens,
            },
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class _AnthropicWire:
    path = "/v1/messages"

    def refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get("x-api-key") != ANTHROPIC_KEY:
            return 401, "invalid x-api-key"
        if not headers.get("anthropic-version"):
            return 400, "anthropic-version: header is required"
        return None

    def reply(self, request: dict[str, Any], answer: Answer, number: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if answer.text:
            content.append({"type": "text", "text": answer.text})
        content += [
            {"type": "tool_use", "id": f"toolu_{number}_{index}", "name": name, "input": arguments}
            for index, (name, arguments) in enumerate(answer.tool_calls)
        ]
        return {
            "id": f"msg_{number}",
            "type": "message",
            "role": "assistant",
            "model": request.get("model"),
            "content": content,
            "stop_reason": "tool_use" if answer.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        kinds = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
        kind = "overloaded_error" if status == 529 else kinds.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
