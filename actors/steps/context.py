"""The context a step (and a user's task handler) sees of its run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepContext:
    run_id: str
    workspace_id: str
    step_name: str
    #: 1 for the first try of this step, counting up with each retry.
    attempt: int
    input: dict[str, Any]
    state: dict[str, Any]

    @property
    def idempotency_key(self) -> str:
        """Pass this to outside systems: a handler may run more than once for one attempt."""
        return f"{self.run_id}:{self.step_name}:{self.attempt}"
