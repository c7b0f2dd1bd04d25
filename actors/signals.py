"""Signals other services publish straight to RabbitMQ, without HTTP (SPEC section 6).

The message is a Dramatiq message for `deliver_signal` on the `signals` queue, with keyword
arguments only: workspaceId, runId, signalType, payload, signalId. A signal is stored once per
(run, signalId), so a repeat takes effect once; one that arrives before its run reaches the
step that waits for it is kept until then. A message that can never be delivered (malformed,
or naming a run that is not in that workspace) is refused with its reason logged and lands in
the dead-letter queue `signals.XQ`; it never touches another run.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from actors import driver
from actors.message_log import brief
from actors.runs import RETRY_OPTIONS, hand_off, redelivered, take_over
from actors.steps import awaited_signal
from actors.steps.timeout import STEP_TIME_LIMIT_MS
from models import statuses
from models.definitions import definition_steps
from models.documents import MAX_DOCUMENT_BYTES, serialized_size, unstorable
from models.errors import StevoraError
from models.ids import is_id
from models.runs import run_by_id, step_run_by_id
from models.signals import store_broker_signal

logger = logging.getLogger(__name__)

#: The keyword arguments a signal message carries, all required.
FIELDS = frozenset({"workspaceId", "runId", "signalType", "payload", "signalId"})


class MalformedSignal(StevoraError):
    """A signal message that can never be delivered; it goes to the dead-letter queue."""


@dramatiq.actor(
    queue_name="signals",
    throws=(MalformedSignal,),
    time_limit=STEP_TIME_LIMIT_MS,
    **RETRY_OPTIONS,
)
def deliver_signal(*args: Any, **kwargs: Any) -> None:
    """Store a signal for its run and, if the run is waiting for it, go on at once."""
    try:
        fields = parse(args, kwargs)
        run = run_by_id(fields["runId"])
        if run is None or run.workspace_id != fields["workspaceId"]:
            raise MalformedSignal(f"no run {fields['runId']} in workspace {fields['workspaceId']}")
    except MalformedSignal as exc:
        logger.warning("signal refused, dead-lettered: %s", exc)
        raise
    if not _store(fields):
        # A repeat, or this message again after a worker died between storing and resuming:
        # the run is looked at all the same, and the step consumes the signal once.
        logger.info("signal %s for run %s already received", fields["signalId"], run.id)
    if redelivered():
        take_over(run.id)  # its worker died holding it, perhaps steps past the signal's
        return
    # Read again after storing: the driver looks for signals after the run goes WAITING, so
    # one of the two sees the other and no signal is stranded.
    run = run_by_id(run.id)
    if run.status != statuses.WAITING:
        return  # Kept: the step takes it when the run gets there.
    step = definition_steps(run.definition_id)[run.current_step_index]
    if awaited_signal(step) != fields["signalType"]:
        return
    step_run = step_run_by_id(run.current_step_run_id)
    driver.resume(run.id, step_run.id, step_run.attempt, hand_off)


def parse(args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The signal's fields, checked; `MalformedSignal` says what is wrong."""
    if args:
        raise MalformedSignal("a signal takes keyword arguments only (args must be [])")
    missing, unknown = FIELDS - set(kwargs), set(kwargs) - FIELDS
    if missing or unknown:
        raise MalformedSignal(
            f"missing fields {sorted(missing)}, unknown fields {brief(sorted(unknown))}"
        )
    if not is_id(kwargs["workspaceId"], "ws"):
        raise MalformedSignal(f"workspaceId is not a workspace id: {brief(kwargs['workspaceId'])}")
    if not is_id(kwargs["runId"], "wfrun"):
        raise MalformedSignal(f"runId is not a workflow run id: {brief(kwargs['runId'])}")
    for name, limit in (("signalType", 200), ("signalId", 255)):
        value = kwargs[name]
        if not isinstance(value, str) or not 1 <= len(value) <= limit or unstorable(value):
            raise MalformedSignal(
                f"{name} must be a string of 1 to {limit} characters, without NUL (\\u0000)"
                " or lone surrogates"
            )
    payload = kwargs["payload"]
    if not isinstance(payload, dict):
        raise MalformedSignal("payload must be a JSON object")
    problem = unstorable(payload)
    if problem is not None:
        raise MalformedSignal(f"payload {problem}")
    if serialized_size(payload) > MAX_DOCUMENT_BYTES:
        raise MalformedSignal(f"payload is larger than {MAX_DOCUMENT_BYTES} bytes")
    return kwargs


def _store(fields: dict[str, Any]) -> bool:
    """Keep the signal; False when this run already has one with this signalId."""
    return store_broker_signal(
        fields["workspaceId"],
        fields["runId"],
        fields["signalType"],
        fields["payload"],
        fields["signalId"],
    )
