"""What running a step can come to; the driver turns each outcome into a transition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Completed:
    """The step finished: merge `updates` into state and go on (to `jump_to` when set)."""

    updates: dict[str, Any] = field(default_factory=dict)
    jump_to: int | None = None


@dataclass(frozen=True)
class Failed:
    """The step failed; `retryable` says whether the retry policy may try it again."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    retryable: bool = True

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


Outcome = Completed | Failed
