"""The external_event step: WAITING until a signal of its type arrives, then merge its payload.

The signal may come over REST (resume) or straight through the broker, even before the run
got here. Past `timeoutMs` the step fails with SIGNAL_TIMEOUT, and the retry policy decides.
"""

from __future__ import annotations

from actors.steps.context import StepContext
from actors.steps.fields import Text
from actors.steps.outcomes import Failed, Outcome, Waiting, signal_taken
from actors.steps.types import StepType, register
from models.signals import Signal


def run_external_event(step: dict, ctx: StepContext) -> Outcome:
    if ctx.signal is not None:
        return signal_taken(ctx.signal)
    deadline = ctx.elapsed(step["timeoutMs"]) if "timeoutMs" in step else None
    if deadline is not None and ctx.now >= deadline:
        return Failed(
            "SIGNAL_TIMEOUT",
            f"no {step['signalType']!r} signal arrived within {step['timeoutMs']} ms",
            {"signalType": step["signalType"], "timeoutMs": step["timeoutMs"]},
        )
    return Waiting("signal", until=deadline, signal_type=step["signalType"])


EXTERNAL_EVENT = register(
    StepType(
        name="external_event",
        description="WAITING until a signal of `signalType` arrives (REST resume or broker).",
        fields={"signalType": Text(max_length=Signal.signal_type.max_length)},
        run=run_external_event,
        awaited_signal=lambda step: step["signalType"],
    )
)
