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
    #: The step run of this visit of the step: the same for every attempt of it.
    step_run_id: str
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
        """Pass this to outside systems, so that a retried call is not carried out twice.

        The step run's id: the same for every attempt and redelivery of one visit of the step,
        new for every other visit (a loop coming round again, a run-level retry).
        """
        return self.step_run_id

    def elapsed(self, milliseconds: int) -> datetime.datetime:
        """The moment `milliseconds` after this attempt started."""
        return self.started_at + datetime.timedelta(milliseconds=milliseconds)
