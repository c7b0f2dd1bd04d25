"""What running a step can come to; the driver turns each outcome into a transition."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from models.signals import Signal


@dataclass(frozen=True)
class Completed:
    """The step finished: merge `updates` into state and go on (to `jump_to` when named)."""

    updates: dict[str, Any] = field(default_factory=dict)
    #: The step run's recorded output; its state updates when None.
    output: dict[str, Any] | None = None
    #: The name of the step to go to instead of the next one.
    jump_to: str | None = None
    #: The signal this step used up, marked consumed in the same transaction.
    consumed_signal: Signal | None = None
    #: Calls to model providers the step made; recorded with its outcome.
    llm_calls: tuple[LlmCall, ...] = ()


def signal_taken(signal: Signal) -> Completed:
    """A step that took a signal: its payload (an object) merged into state, the signal consumed."""
    return Completed(
        updates=signal.payload if isinstance(signal.payload, dict) else {},
        output={"signalId": signal.id, "payload": signal.payload},
        consumed_signal=signal,
    )


@dataclass(frozen=True)
class Failed:
    """The step failed; `retryable` says whether the retry policy may try it again."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    retryable: bool = True
    #: State updates kept even though the step failed (an approval's recorded decision).
    updates: dict[str, Any] = field(default_factory=dict)
    #: Calls to model providers the step made before it failed; recorded all the same.
    llm_calls: tuple[LlmCall, ...] = ()

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    @classmethod
    def raised(cls, code: str, exc: BaseException, retryable: bool = True) -> Failed:
        """The failure of a step whose code raised `exc`: its message, else its type."""
        kind = type(exc).__name__
        return cls(code, exception_text(exc) or kind, {"exceptionType": kind}, retryable)


def exception_text(exc: BaseException) -> str:
    """What `str(exc)` says, or "" when it says nothing or itself raises."""
    try:
        return str(exc)
    except Exception:
        return ""


@dataclass(frozen=True)
class Waiting:
    """The run waits (status WAITING) until `until`, or for a signal of `signal_type`."""

    reason: str
    until: datetime.datetime | None = None
    signal_type: str | None = None


@dataclass(frozen=True)
class AwaitingApproval:
    """The run pauses (status PAUSED) until a person decides on `content`."""

    content_key: str
    content: Any
    prompt: str | None
    expires_at: datetime.datetime | None


@dataclass(frozen=True)
class LlmCall:
    """One call to a model provider made while running a step, kept whatever came of it."""

    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_ms: int
    #: "completed", or "failed" with `error` saying why.
    outcome: str
    error: dict[str, Any] | None = None
    #: What the event shows besides the call itself (tool round, fallback position).
    details: dict[str, Any] = field(default_factory=dict)


Outcome = Completed | Failed | Waiting | AwaitingApproval
