"""Step types, one module each, and `run_step`, which runs a step by the type it names.

Every module of this package that registers a type is imported here, so a built-in type is one
file: `actors/steps/<type>.py`, ending in `register(StepType(...))`.
"""

from __future__ import annotations

import importlib
import pkgutil

from actors.steps.context import StepContext
from actors.steps.outcomes import AwaitingApproval, Completed, Failed, Outcome, Waiting
from actors.steps.step_type import StepType
from actors.steps.types import UnknownStepType, register, step_type, step_types


def _import_step_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_step_modules()


def type_of(step: dict) -> StepType:
    """The type of a stored step. A type this process lacks (a worker older than the API that
    stored it) is one whose steps fail with STEP_TYPE_UNSUPPORTED."""
    try:
        return step_type(step["type"])
    except UnknownStepType:
        return StepType(name=step["type"], description="", fields={}, run=_unsupported)


def awaited_signal(step: dict) -> str | None:
    """The signal type a stored step can be resumed with, if any."""
    return type_of(step).awaited_signal(step)


def signal_refusal(step: dict, signal_type: str) -> str | None:
    """Why a stored step does not take a resume with `signal_type`; None when it does."""
    kind = type_of(step)
    if kind.accepts_signal(step, signal_type):
        return None
    awaited = kind.awaited_signal(step)
    expected = f"signal {awaited!r}" if awaited else "a timer, not a signal"
    return f"the run is waiting for {expected}, not {signal_type!r}"


def run_step(step: dict, ctx: StepContext) -> Outcome:
    """Run one step of a definition in the given context."""
    return type_of(step).run(step, ctx)


def _unsupported(step: dict, ctx: StepContext) -> Outcome:
    return Failed(
        "STEP_TYPE_UNSUPPORTED",
        f"step type {step['type']!r} is not supported by this worker",
        retryable=False,
    )


__all__ = [
    "AwaitingApproval",
    "Completed",
    "Failed",
    "Outcome",
    "StepContext",
    "StepType",
    "UnknownStepType",
    "Waiting",
    "awaited_signal",
    "register",
    "run_step",
    "signal_refusal",
    "step_type",
    "step_types",
    "type_of",
]
