"""A step's retry policy (SPEC section 5) and the backoff before each next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: No backoff is longer than five minutes, whatever the multiplier.
MAX_BACKOFF_MS = 300_000


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


def policy_of(step: dict) -> RetryPolicy:
    """The step's policy with SPEC defaults; approval steps try once unless told otherwise."""
    retry = step.get("retry") or {}
    default_attempts = 1 if step["type"] == "approval" else 3
    return RetryPolicy(
        max_attempts=retry.get("maxAttempts", default_attempts),
        backoff_ms=retry.get("backoffMs", 1000),
        backoff_multiplier=retry.get("backoffMultiplier", 2),
    )
