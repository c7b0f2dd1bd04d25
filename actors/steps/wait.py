"""The wait step: WAITING until a duration has passed or a moment has come.

No worker is held: the run's timer (`next_run_at`) wakes it. A resume with the step's
`signalType` ends the wait early, its payload merged into state like an external event's.
"""

from __future__ import annotations

import datetime

from actors.steps.context import StepContext
from actors.steps.outcomes import Completed, Outcome, Waiting, signal_taken
from models.base import iso_utc


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
