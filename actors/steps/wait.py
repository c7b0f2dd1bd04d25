"""The wait step: WAITING until a duration has passed or a moment has come.

No worker is held: the run's timer (`next_run_at`) wakes it. A resume with the step's
`signalType` ends the wait early, its payload merged into state like an external event's.
"""

from __future__ import annotations

import datetime

from actors.steps.context import StepContext
from actors.steps.fields import MAX_DURATION_MS, Definition, Integer, Text, Timestamp
from actors.steps.outcomes import Completed, Outcome, Waiting, signal_taken
from actors.steps.types import StepType, register
from models.base import iso_utc
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
    if "durationMs" in step:
        return ctx.elapsed(step["durationMs"])
    moment = datetime.datetime.fromisoformat(step["untilTimestamp"])
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def _one_moment(step: Fields, definition: Definition) -> None:
    has_duration, has_until = "durationMs" in step.obj, "untilTimestamp" in step.obj
    if not has_duration and not has_until:
        step.add("durationMs", "durationMs or untilTimestamp is required")
    elif has_duration and has_until:
        step.add("untilTimestamp", "give durationMs or untilTimestamp, not both")


WAIT = register(
    StepType(
        name="wait",
        description="WAITING until `durationMs` has passed or `untilTimestamp` has come.",
        fields={
            "durationMs": Integer(required=False, minimum=0, maximum=MAX_DURATION_MS),
            "untilTimestamp": Timestamp(
                required=False, description="With a timezone, and in years 1-9999 once in UTC."
            ),
            "signalType": Text(
                required=False,
                max_length=Signal.signal_type.max_length,
                description="A resume with it ends the wait.",
            ),
        },
        run=run_wait,
        check=_one_moment,
        schema_rules={
            "oneOf": [
                {"required": ["durationMs"], "not": {"required": ["untilTimestamp"]}},
                {"required": ["untilTimestamp"], "not": {"required": ["durationMs"]}},
            ]
        },
        awaited_signal=lambda step: step.get("signalType"),
    )
)
