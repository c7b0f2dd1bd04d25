"""The context a step (and a user's task handler) sees of its run."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from models.approvals import ApprovalRequest
from models.signals import Signal


@dataclass(frozen=True)
class StepContext:
    run_id: str
    workspace_id: str
    step_name: str
    #: 1 for the first try of this step, counting up with each retry.
    attempt: int
    input: dict[str, Any]
    state: dict[str, Any]
    #: When this attempt started, and now: durations and timeouts count from the first.
    started_at: datetime.datetime
    now: datetime.datetime
    #: A signal waiting for this step, if the step takes signals and one has arrived.
    signal: Signal | None = None
    #: This attempt's approval request, if the step is an approval that asked already.
    approval: ApprovalRequest | None = None

    @property
    def idempotency_key(self) -> str:
        """Pass this to outside systems: a handler may run more than once for one attempt."""
        return f"{self.run_id}:{self.step_name}:{self.attempt}"

    def elapsed(self, milliseconds: int) -> datetime.datetime:
        """The moment `milliseconds` after this attempt started."""
        return self.started_at + datetime.timedelta(milliseconds=milliseconds)
