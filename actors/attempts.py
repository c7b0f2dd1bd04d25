"""One attempt of a step, whatever it does: it always ends in an outcome.

Any exception a step raises (a handler's, a tool's, an expression over values it cannot
compare, a recursion or memory error) fails the attempt with STEP_ERROR, and a result that
cannot be stored fails it with RESULT_INVALID or STATE_TOO_LARGE; the retry policy decides what
follows. Only what is not the step's doing goes on up: the database or broker being
unreachable (the message is tried again, then the clock's redrive), and the worker shutting down.
"""

from __future__ import annotations

import dataclasses
import logging

import peewee
from dramatiq.errors import BrokerError
from dramatiq.middleware import Shutdown, TimeLimitExceeded

from actors.steps import Completed, Failed, Outcome, StepContext, run_step
from actors.steps.outcomes import exception_text
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from models.documents import MAX_DOCUMENT_BYTES, serialized_size, storable_text, unstorable

logger = logging.getLogger(__name__)

#: Errors that say the system, not the step, is in trouble: the command is tried again later.
OUTAGES = (peewee.OperationalError, peewee.InterfaceError, BrokerError)


def run_attempt(step: dict, ctx: StepContext) -> Outcome:
    """Run the step; an exception it raises is its failed outcome."""
    try:
        return run_step(step, ctx)
    except OUTAGES:
        raise
    except TimeLimitExceeded:
        return Failed(
            "STEP_TIMEOUT",
            f"step {step['name']!r} ran past the worker's time limit",
            {"timeLimitMs": STEP_TIME_LIMIT_MS},
        )
    except (Shutdown, KeyboardInterrupt):
        raise  # The worker is stopping: the message goes back to the queue.
    except BaseException as exc:  # A handler's SystemExit too: its step fails, not the worker.
        logger.info("step %r of run %s raised", step["name"], ctx.run_id, exc_info=True)
        return step_error(exc)


def step_error(exc: BaseException) -> Failed:
    """The failed outcome of a step that raised `exc`, named by its type: it is rarely the
    step's own words (a TypeError from an expression, a RecursionError)."""
    kind, text = type(exc).__name__, exception_text(exc)
    return Failed("STEP_ERROR", f"{kind}: {text}" if text else kind, {"exceptionType": kind})


def storable(outcome: Outcome, state: dict) -> Outcome:
    """`outcome` if the run can keep it on top of `state`, else the failure that says why.

    A failure's own message and details are made storable rather than refused.
    """
    if isinstance(outcome, Failed):
        outcome = _storable_failure(outcome)
    if not isinstance(outcome, Completed | Failed):
        return outcome
    output = outcome.output if isinstance(outcome, Completed) else None
    for name, document in (("result", outcome.updates), ("output", output)):
        problem = unstorable(document)
        if problem is not None:
            return _with_calls(
                Failed("RESULT_INVALID", f"the step's {name} cannot be stored: it {problem}"),
                outcome,
            )
    if outcome.updates:
        size = serialized_size({**state, **outcome.updates})
        if size > MAX_DOCUMENT_BYTES:
            return _with_calls(
                Failed(
                    "STATE_TOO_LARGE",
                    f"the run's state would be {size} bytes, over {MAX_DOCUMENT_BYTES}",
                    {"bytes": size, "limit": MAX_DOCUMENT_BYTES},
                ),
                outcome,
            )
    return outcome


def unstored(exc: peewee.DatabaseError, outcome: Outcome) -> Failed:
    """The failure to record instead of an outcome the database refused to store."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    failed = Failed(
        "RESULT_INVALID", storable_text(f"the database refused the result: {first_line}")
    )
    if isinstance(outcome, Completed | Failed) and outcome.llm_calls:
        return dataclasses.replace(failed, details={"llmCallsNotRecorded": len(outcome.llm_calls)})
    return failed


def _storable_failure(failed: Failed) -> Failed:
    message = storable_text(failed.message)
    details = failed.details
    if unstorable(details) is not None or serialized_size(details) > MAX_DOCUMENT_BYTES // 4:
        details = {"detailsDropped": "the failure's details could not be stored"}
    if message == failed.message and details is failed.details:
        return failed
    return dataclasses.replace(failed, message=message, details=details)


def _with_calls(failed: Failed, outcome: Completed | Failed) -> Failed:
    """`failed`, still carrying the provider calls the step made (they cost money)."""
    return dataclasses.replace(failed, llm_calls=outcome.llm_calls)
