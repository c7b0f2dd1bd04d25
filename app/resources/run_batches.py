"""POST /v1/workflow-runs/batch: up to 1,000 runs in one call, all or nothing on validation.

Each item is checked as one create would check it, and every problem is named by its place
(`runs[3].definitionId`); with none, the runs are inserted in one statement, due at once: the
clock starts them at its next tick (within `STEVORA_CLOCK_INTERVAL_MS`), so the request sends
no command a run (a confirmed publish costs more than the insert).
"""

from __future__ import annotations

import falcon

from app import serializers
from app.media import read_object
from app.run_creation import definition_of_workspace, key_of_run
from models.base import utcnow
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.run_batches import NewRun, insert_runs
from models.validation import Fields, Problems

#: Most runs one batch may create.
MAX_BATCH = 1000
ITEM_FIELDS = ("definitionId", "input", "idempotencyKey")


class RunBatches:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """201 with the runs in the order asked; a repeated idempotency key gives its run."""
        body = read_object(req)
        problems = Problems()
        Fields(problems, body).only(("runs",))
        items = body.get("runs")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            problems.add("runs", f"must be a list of 1 to {MAX_BATCH} runs")
            items = []
        workspace = req.context.workspace
        new_runs = [
            _new_run(problems, f"runs[{i}].", item, workspace.id) for i, item in enumerate(items)
        ]
        problems.raise_if_any("the batch is invalid; no run was created")
        created = insert_runs(workspace.id, new_runs, utcnow())
        resp.status = falcon.HTTP_201
        resp.media = {"success": True, "data": [serializers.run(run) for run, _ in created]}


def _new_run(problems: Problems, prefix: str, item: object, workspace_id: str) -> NewRun | None:
    if not isinstance(item, dict):
        problems.add(
            prefix.rstrip("."), "must be an object {definitionId, input?, idempotencyKey?}"
        )
        return None
    fields = Fields(problems, item, prefix)
    fields.only(ITEM_FIELDS)
    definition_id = fields.string("definitionId")
    run_input = fields.object("input", required=False)
    key = fields.string("idempotencyKey", max_length=255, required=False)
    if run_input is not None and serialized_size(run_input) > MAX_DOCUMENT_BYTES:
        fields.add("input", f"must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
    if definition_id is None:
        return None
    definition = definition_of_workspace(workspace_id, definition_id)
    if definition is None:
        fields.add("definitionId", "names no workflow definition of this workspace")
        return None
    run_input = run_input or {}
    limited = key_of_run(definition, run_input, problems, f"{prefix}input")
    return NewRun(definition_id, run_input, key, limited)
