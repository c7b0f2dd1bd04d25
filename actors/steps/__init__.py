"""One module per step type; `run_step` picks the one a step's `type` names."""

from __future__ import annotations

from collections.abc import Callable

from actors.steps.approval import run_approval
from actors.steps.condition import run_condition
from actors.steps.context import StepContext
from actors.steps.external_event import run_external_event
from actors.steps.llm import run_llm
from actors.steps.outcomes import AwaitingApproval, Completed, Failed, Outcome, Waiting
from actors.steps.task import run_task
from actors.steps.wait import run_wait

_RUNNERS: dict[str, Callable[[dict, StepContext], Outcome]] = {
    "task": run_task,
    "wait": run_wait,
    "condition": run_condition,
    "external_event": run_external_event,
    "approval": run_approval,
    "llm": run_llm,
}


def run_step(step: dict, ctx: StepContext) -> Outcome:
    """Run one step of a definition in the given context."""
    runner = _RUNNERS.get(step["type"])
    if runner is None:
        return Failed(
            "STEP_TYPE_UNSUPPORTED",
            f"step type {step['type']!r} is not supported by this worker",
            retryable=False,
        )
    return runner(step, ctx)


__all__ = [
    "AwaitingApproval",
    "Completed",
    "Failed",
    "Outcome",
    "StepContext",
    "Waiting",
    "run_step",
]
