"""One module per step type; `run_step` picks the one a step's `type` names."""

from __future__ import annotations

from collections.abc import Callable

from actors.steps.context import StepContext
from actors.steps.outcomes import Completed, Failed, Outcome
from actors.steps.task import run_task

_RUNNERS: dict[str, Callable[[dict, StepContext], Outcome]] = {
    "task": run_task,
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


__all__ = ["Completed", "Failed", "Outcome", "StepContext", "run_step"]
