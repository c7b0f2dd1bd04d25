"""The one HTTP client every provider call goes through, with connect and read timeouts.

httpx's `Client` is thread-safe and pools connections; one per process, made on first use so
no socket is opened before dramatiq or gunicorn forks.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from actors.llm.errors import (
    ProviderBadResponse,
    ProviderHttpError,
    ProviderTimeout,
    ProviderUnreachable,
)

#: How much of an error body is kept in the error message.
MAX_ERROR_TEXT = 500

_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=10)
            )
        return _client


def post_json(
    url: str, headers: dict[str, str], body: dict[str, Any], connect_s: float, read_s: float
) -> dict[str, Any]:
    """POST `body` as JSON; the JSON object answered.

    `read_s` bounds each wait for bytes from the server (so a model that takes longer than
    that to start answering times out); `connect_s` bounds the connection.

    Raises:
      ProviderTimeout, ProviderUnreachable: the transport failed (retryable).
      ProviderHttpError: an error status; retryable for 408, 429 and 5xx.
      ProviderBadResponse: a success status whose body is not a JSON object.
    """
    timeout = httpx.Timeout(read_s, connect=connect_s)
    try:
        response = client().post(url, json=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"{type(exc).__name__} after {_seconds(exc, timeout)}") from None
    except httpx.TransportError as exc:
        raise ProviderUnreachable(f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        raise ProviderHttpError(response.status_code, error_message(response))
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProviderBadResponse(f"the body is not JSON: {response.text[:100]!r}") from None
    if not isinstance(answer, dict):
        raise ProviderBadResponse("the body is not a JSON object")
    return answer


def error_message(response: httpx.Response) -> str:
    """The message of an error body in either provider's format (`{"error": {"message"}}`)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:MAX_ERROR_TEXT] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"][:MAX_ERROR_TEXT]
    if isinstance(error, str):
        return error[:MAX_ERROR_TEXT]
    return json.dumps(body)[:MAX_ERROR_TEXT]


def _seconds(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    limit = timeout.connect if isinstance(exc, httpx.ConnectTimeout) else timeout.read
    return f"{limit:g} s"
