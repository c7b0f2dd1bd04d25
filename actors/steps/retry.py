"""A step's retry policy (SPEC section 5) and the backoff before each next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from actors.steps.fields import MAX_DURATION_MS, Integer, Number, Record, WholeNumber

#: No backoff is longer than five minutes, whatever the multiplier.
MAX_BACKOFF_MS = 300_000
#: Attempts of a step whose type and `retry` say nothing.
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_MS = 1000
DEFAULT_BACKOFF_MULTIPLIER = 2

#: A step's `retry` member.
RETRY_POLICY = Record(
    component="RetryPolicy",
    required=False,
    fields={
        "maxAttempts": Integer(
            required=False,
            minimum=1,
            maximum=20,
            description=f"Default {DEFAULT_ATTEMPTS}, unless the step type says otherwise.",
        ),
        "backoffMs": WholeNumber(
            required=False, minimum=100, maximum=MAX_DURATION_MS, default=DEFAULT_BACKOFF_MS
        ),
        "backoffMultiplier": Number(
            required=False, minimum=1, maximum=10, default=DEFAULT_BACKOFF_MULTIPLIER
        ),
    },
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_ms: int
    backoff_multiplier: float

    def backoff(self, failed_attempt: int) -> int:
        """Milliseconds to wait after attempt `failed_attempt` failed, with jitter in [0.5, 1]."""
        ceiling = min(
            MAX_BACKOFF_MS, self.backoff_ms * self.backoff_multiplier ** (failed_attempt - 1)
        )
        return int(ceiling * random.uniform(0.5, 1.0))


def policy_of(step: dict, default_attempts: int = DEFAULT_ATTEMPTS) -> RetryPolicy:
    """The step's policy, with the SPEC's defaults and its type's default attempts."""
    retry = step.get("retry") or {}
    return RetryPolicy(
        max_attempts=retry.get("maxAttempts", default_attempts),
        backoff_ms=retry.get("backoffMs", DEFAULT_BACKOFF_MS),
        backoff_multiplier=retry.get("backoffMultiplier", DEFAULT_BACKOFF_MULTIPLIER),
    )
