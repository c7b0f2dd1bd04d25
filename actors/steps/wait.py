"""The wait step: WAITING until a duration has passed or a moment has come.

No worker is held: the run's timer (`next_run_at`) wakes it. A resume with the step's
`signalType` (with any type when it names none) ends the wait early, its payload merged into
state like an external event's.
"""

from __future__ import annotations

import datetime

from actors.steps.context import StepContext
from actors.steps.fields import MAX_DURATION_MS, Definition, Text, Timestamp, WholeNumber
from actors.steps.outcomes import Completed, Outcome, Waiting, signal_taken
from actors.steps.types import StepType, register
from models.base import iso_utc, moment_of
from models.signals import Signal
from models.validation import Fields


def run_wait(step: dict, ctx: StepContext) -> Outcome:
    if ctx.signal is not None:
        return signal_taken(ctx.signal)
    until = _until(step, ctx)
    if ctx.now >= until:
        return Completed(output={"until": iso_utc(until)})
    return Waiting("wait", until=until, signal_type=step.get("signalType"))


def _until(step: dict, ctx: StepContext) -> datetime.datetime:
    if "untilTimestamp" in step:  # it wins over durationMs, as in Stevora
        return moment_of(step["untilTimestamp"])
    return ctx.elapsed(step["durationMs"])


def _one_moment(step: Fields, definition: Definition) -> None:
    if "durationMs" not in step.obj and "untilTimestamp" not in step.obj:
        step.add("durationMs", "durationMs or untilTimestamp is required")


WAIT = register(
    StepType(
        name="wait",
        description="WAITING until `durationMs` has passed or `untilTimestamp` has come.",
        fields={
            "durationMs": WholeNumber(required=False, minimum=0, maximum=MAX_DURATION_MS),
            "untilTimestamp": Timestamp(
                required=False,
                description="ISO-8601; without a zone it is UTC, a date alone is midnight UTC. "
                "Given with durationMs, it wins.",
            ),
            "signalType": Text(
                required=False,
                max_length=Signal.signal_type.max_length,
                description="A resume with it ends the wait.",
            ),
        },
        run=run_wait,
        check=_one_moment,
        schema_rules={"anyOf": [{"required": ["durationMs"]}, {"required": ["untilTimestamp"]}]},
        awaited_signal=lambda step: step.get("signalType"),
        # Stevora's resume ends a wait that names no signal type with any signal.
        takes_any_signal=lambda step: "signalType" not in step,
    )
)
