"""POST /v1/workflow-runs/{run_id}/cancel, /resume, /retry, /pause and /unpause.

Each is one transition (`models.operations`, `models.pausing`), committed before the worker
is told to go on.
A run not in a state that allows the operation raises `NotAllowed`, answered 409.
"""

from __future__ import annotations

import dramatiq
import falcon

from actors.steps import signal_refusal
from app import serializers
from app.commands import publish_step, publish_wake
from app.errors import PayloadTooLarge
from app.media import read_no_fields, read_object
from app.run_creation import find_run
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.operations import cancel_run, resume_run, retry_run
from models.pausing import pause_run, unpause_run
from models.signals import Signal
from models.validation import Fields, Problems

RESUME_FIELDS = ("signalType", "payload")
#: Longest signal type: the width of the column a signal is stored in.
MAX_SIGNAL_TYPE = Signal.signal_type.max_length


class RunOperations:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """200 with the run CANCELLED, from PENDING, RUNNING, WAITING or PAUSED."""
        read_no_fields(req)
        run = find_run(req.context.workspace, run_id)
        cancelled = cancel_run(run.id)
        cancelled.definition = run.definition  # name and version for the answer
        resp.media = {"success": True, "data": serializers.run(cancelled)}

    def on_post_resume(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """200 with the run RUNNING again, when it is WAITING for this signal type."""
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(RESUME_FIELDS)
        signal_type = fields.string("signalType", max_length=MAX_SIGNAL_TYPE)
        payload = fields.object("payload", required=False)
        problems.raise_if_any()
        payload = payload if payload is not None else {}
        if serialized_size(payload) > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(f"payload must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
        run = find_run(req.context.workspace, run_id)
        step_run = resume_run(run, signal_type, payload, signal_refusal)
        publish_step(self.broker, step_run)
        resp.media = {"success": True, "data": serializers.run(run)}

    def on_post_retry(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """200 with a FAILED run RUNNING again from the failed step, its state kept."""
        read_no_fields(req)
        run = find_run(req.context.workspace, run_id)
        step_run = retry_run(run)
        publish_step(self.broker, step_run)
        resp.media = {"success": True, "data": serializers.run(run)}

    def on_post_pause(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """200 with the run PAUSED (`pausedReason` manual), from PENDING, RUNNING or WAITING."""
        read_no_fields(req)
        run = find_run(req.context.workspace, run_id)
        paused = pause_run(run.id)
        paused.definition = run.definition
        resp.media = {"success": True, "data": serializers.run(paused)}

    def on_post_unpause(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """200 with a manually paused run back where it was: PENDING, RUNNING or WAITING."""
        read_no_fields(req)
        run = find_run(req.context.workspace, run_id)
        unpaused, wake = unpause_run(run.id)
        if wake is not None:
            publish_wake(self.broker, wake)
        unpaused.definition = run.definition
        resp.media = {"success": True, "data": serializers.run(unpaused)}
