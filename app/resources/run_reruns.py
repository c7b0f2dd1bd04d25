"""POST /v1/workflow-runs/{run_id}/rerun: a new run of a final run's definition, from a step.

The new run starts at `fromStep` with the state the original had when it last entered that
step (`models.reruns`), shallow-merged with `state`, and with `input` when given (else the
original's). The original is not written to. Nothing is created when any check fails.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import falcon

from app import serializers
from app.commands import publish_start
from app.errors import PayloadTooLarge
from app.media import read_object
from app.run_creation import create_rerun, find_run, run_with_key
from models import statuses
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.reruns import starting_point
from models.runs import StepRun, WorkflowRun
from models.validation import Fields, Problems

RERUN_FIELDS = ("fromStep", "input", "state", "idempotencyKey")
#: Longest step name: the width of the column a step run keeps it in.
MAX_STEP_NAME = StepRun.step_name.max_length


class RunReruns:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def on_post(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """201 with the new PENDING run; 200 with the run made before with this idempotency
        key. 409 when the run is not final, 400 when it never entered `fromStep`."""
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(RERUN_FIELDS)
        from_step = fields.string("fromStep", max_length=MAX_STEP_NAME)
        run_input = fields.object("input", required=False)
        state = fields.object("state", required=False)
        key = fields.string("idempotencyKey", max_length=255, required=False)
        problems.raise_if_any()
        for name, document in (("input", run_input), ("state", state)):
            if document is not None and serialized_size(document) > MAX_DOCUMENT_BYTES:
                raise PayloadTooLarge(f"{name} must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
        workspace = req.context.workspace
        original = find_run(workspace, run_id)
        # As for a create, a key used before gives its run, whatever the rest of the body (or
        # the original, retried since) says.
        run, created = run_with_key(workspace, key), False
        if run is None:
            run, created = _rerun(original, from_step, run_input, state, key)
        # Committed by now. A repeat of a run still PENDING re-sends: the actor is fenced.
        if run.status == statuses.PENDING:
            publish_start(self.broker, run.id)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = {"success": True, "data": serializers.run(run)}


def _rerun(
    original: WorkflowRun,
    from_step: str,
    run_input: dict[str, Any] | None,
    state: dict[str, Any] | None,
    key: str | None,
) -> tuple[WorkflowRun, bool]:
    """The rerun of `original` from `from_step`, and whether it is new (not, when a request
    with the same key inserted it first)."""
    start = starting_point(original.id, from_step)
    started_with = {**start.state, **(state or {})}
    size = serialized_size(started_with)
    if size > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(
            f"the rerun's state would be {size} bytes as JSON, over {MAX_DOCUMENT_BYTES}"
        )
    run_input = run_input if run_input is not None else original.input
    return create_rerun(original, start, run_input, started_with, key)
