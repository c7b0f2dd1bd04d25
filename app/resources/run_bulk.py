"""POST /v1/workflow-runs/bulk/cancel and /bulk/retry: one operation on every run a filter
matches, each moved as its single call would move it.

A run whose status does not allow the operation is counted in `matched`, not in `changed`,
and fails nothing: the answer is `{matched, changed}`.
"""

from __future__ import annotations

import dramatiq
import falcon

from app.commands import publish_step
from app.media import read_object
from models import statuses
from models.errors import RunConflict
from models.ids import is_id
from models.operations import NotAllowed, cancel_run, retry_run
from models.run_batches import matching_run_ids
from models.runs import run_by_id
from models.validation import Fields, Problems

#: Most ids one call may name.
MAX_IDS = 1000
FILTERS = ("ids", "status", "definitionId", "createdBefore")


class RunsBulk:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Cancel every matching run that is PENDING, RUNNING, WAITING or PAUSED."""
        resp.media = self._apply(req, cancel_run)

    def on_post_retry(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Retry every matching run that is FAILED, from its failed step."""
        resp.media = self._apply(req, self._retry)

    def _apply(self, req: falcon.Request, operation) -> dict:
        matches = _matching(req)
        matched = changed = 0
        for page in matches:
            for run_id in page:
                matched += 1
                try:
                    operation(run_id)
                except (NotAllowed, RunConflict):
                    continue
                changed += 1
        return {"success": True, "data": {"matched": matched, "changed": changed}}

    def _retry(self, run_id: str) -> None:
        publish_step(self.broker, retry_run(run_by_id(run_id)))


def _matching(req: falcon.Request):
    """The pages of matching run ids; 400 for bad filters or none at all."""
    body = read_object(req)
    problems = Problems()
    fields = Fields(problems, body)
    fields.only(FILTERS)
    ids = body.get("ids")
    if "ids" in body and (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_IDS
        or not all(isinstance(i, str) for i in ids)
    ):
        problems.add("ids", f"must be a list of 1 to {MAX_IDS} run ids")
        ids = None
    status = fields.choice("status", statuses.RUN_STATUSES, required=False)
    definition_id = fields.string("definitionId", max_length=100, required=False)
    created_before = fields.moment("createdBefore", required=False)
    if not any(name in body for name in FILTERS):
        problems.add("ids", "give ids or a filter (status, definitionId, createdBefore)")
    problems.raise_if_any()
    if ids is not None:
        ids = [run_id for run_id in ids if is_id(run_id, "wfrun")]  # another id matches nothing
    if definition_id is not None and not is_id(definition_id, "wfdef"):
        return iter(())
    return matching_run_ids(req.context.workspace.id, ids, status, definition_id, created_before)
