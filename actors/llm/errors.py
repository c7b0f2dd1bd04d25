"""What can go wrong calling a provider, as classes that say whether trying again may help."""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    """A provider call that gave no usable answer.

    `retryable` errors (429, 5xx, a timeout, a lost connection) make the step try the next
    model, then its retry policy; the others (a 4xx the provider means) fail the step at once.
    """

    #: A short name of the kind of failure, recorded with the call.
    kind = "provider_error"

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status

    def as_record(self) -> dict[str, Any]:
        """The error as stored with the call and shown in its LLM_CALL_FAILED event."""
        record: dict[str, Any] = {
            "type": self.kind,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.status is not None:
            record["status"] = self.status
        return record


class ProviderHttpError(ProviderError):
    """The provider answered with an error status."""

    kind = "http_error"

    #: Statuses worth trying again: timeouts, rate limits and the server's own troubles.
    RETRYABLE = frozenset({408, 429})

    def __init__(self, status: int, message: str) -> None:
        retryable = status in self.RETRYABLE or status >= 500
        super().__init__(f"HTTP {status}: {message}", retryable=retryable, status=status)


class ProviderTimeout(ProviderError):
    """No answer (or no connection) within the time allowed."""

    kind = "timeout"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class ProviderUnreachable(ProviderError):
    """The connection failed or broke off."""

    kind = "connection_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class ProviderBadResponse(ProviderError):
    """A success status with a body that is not the provider's wire format."""

    kind = "bad_response"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class ProviderNotConfigured(ProviderError):
    """No provider takes this model, or the one that does has no API key."""

    kind = "not_configured"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
