"""The task step: call the Python handler registered under `handler` as `fn(ctx, config)`."""

from __future__ import annotations

import logging

from dramatiq.middleware import TimeLimitExceeded

from actors.registry import NonRetryableError, UnknownHandler, get_handler, is_registered
from actors.steps.context import StepContext
from actors.steps.fields import Definition, Object, Text
from actors.steps.outcomes import Completed, Failed, Outcome
from actors.steps.templates import TemplateError, render
from actors.steps.timeout import STEP_TIME_LIMIT_MS, StepTimeout, time_bound
from actors.steps.types import StepType, register

logger = logging.getLogger(__name__)


def run_task(step: dict, ctx: StepContext) -> Outcome:
    try:
        handler = get_handler(step["handler"])
    except UnknownHandler:
        return Failed(
            "HANDLER_NOT_FOUND",
            f"no task handler is registered as {step['handler']!r} in this worker",
            {"handler": step["handler"]},
            retryable=False,
        )
    try:
        config = render(dict(step.get("config") or {}), ctx.input, ctx.state)
    except TemplateError as exc:
        return exc.failed()
    try:
        with time_bound(step.get("timeoutMs")):
            result = handler(ctx, config)
    except StepTimeout:
        return Failed(
            "STEP_TIMEOUT",
            f"handler {step['handler']!r} ran longer than {step['timeoutMs']} ms",
            {"timeoutMs": step["timeoutMs"]},
        )
    except TimeLimitExceeded:
        # Dramatiq's own bound on an actor call: the step's policy decides, not a redelivery.
        return Failed(
            "STEP_TIMEOUT",
            f"handler {step['handler']!r} ran past the worker's time limit",
            {"timeLimitMs": STEP_TIME_LIMIT_MS},
        )
    except NonRetryableError as exc:
        return Failed.raised("TASK_FAILED", exc, retryable=False)
    except Exception as exc:
        logger.info("task handler %r raised in run %s", step["handler"], ctx.run_id, exc_info=True)
        return Failed.raised("TASK_FAILED", exc)
    if result is None:
        result = {}
    if not isinstance(result, dict):
        return Failed(
            "TASK_INVALID_RESULT",
            f"handler {step['handler']!r} returned {type(result).__name__}, not a dict",
            retryable=False,
        )
    # Whether the run can store it is judged for every step type alike (`actors.attempts`).
    return Completed(updates=result)


def _registered(handler: str, definition: Definition) -> str | None:
    return None if is_registered(handler) else f"no task handler is registered as {handler!r}"


TASK = register(
    StepType(
        name="task",
        description="Calls the Python function registered as `handler` with the step's config.",
        fields={
            "handler": Text(rule=_registered, description="A registered task handler's name."),
            "config": Object(required=False, description="Templates in strings are rendered."),
        },
        run=run_task,
        attempt_bound=lambda step: step.get("timeoutMs"),
    )
)
