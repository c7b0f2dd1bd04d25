"""Workflow runs: create (idempotent), list, get one with its step runs, and its event log.

Cancel, resume and retry live in `app.resources.run_operations`.
"""

from __future__ import annotations

import dramatiq
import falcon

from app import serializers
from app.commands import publish_start
from app.errors import PayloadTooLarge
from app.media import read_object
from app.pagination import Page, paginate
from app.run_creation import create_run, find_definition, find_run
from models import statuses
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.runs import latest_step_runs, runs_of_workspace, select_events, step_run_count
from models.validation import Fields, Problems

CREATE_FIELDS = ("definitionId", "input", "idempotencyKey")
#: Step runs a run's page shows at most: the latest ones (SPEC section 4).
MAX_STEP_RUNS = 1000


class Runs:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """201 with a new PENDING run; 200 with the earlier run when the idempotency key was
        used before in this workspace (whatever the rest of the body says)."""
        body = read_object(req)
        problems = Problems()
        fields = Fields(problems, body)
        fields.only(CREATE_FIELDS)
        definition_id = fields.string("definitionId")
        run_input = fields.object("input", required=False) or {}
        key = fields.string("idempotencyKey", max_length=255, required=False)
        problems.raise_if_any()
        if serialized_size(run_input) > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(f"input must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
        workspace = req.context.workspace
        definition = find_definition(workspace, definition_id)
        run, created = create_run(workspace, definition, run_input, key)
        # Committed by now. A repeat of a run still PENDING re-sends: the actor is fenced.
        if run.status == statuses.PENDING:
            publish_start(self.broker, run.id)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = {"success": True, "data": serializers.run(run)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; filters `status` and `definitionId`, each given at most once. A
        `definitionId` of another format than ours matches nothing: 200 and an empty list."""
        problems = Problems()
        page = Page.from_request(req, problems)
        filters = Fields(problems, req.params)
        status = filters.choice("status", statuses.RUN_STATUSES, required=False)
        definition_id = filters.string("definitionId", min_length=0, required=False)
        problems.raise_if_any()
        query = runs_of_workspace(req.context.workspace.id, status, definition_id)
        resp.media = paginate(query, page, serializers.run)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """The run with its step runs in order: the latest `MAX_STEP_RUNS` of them."""
        run = find_run(req.context.workspace, run_id)
        steps = latest_step_runs(run.id, MAX_STEP_RUNS)
        data = serializers.run(run)
        data["stepRuns"] = [serializers.step_run(step) for step in steps]
        data["stepRunsTotal"] = len(steps) if len(steps) < MAX_STEP_RUNS else step_run_count(run.id)
        resp.media = {"success": True, "data": data}

    def on_get_events(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """Oldest first, in the order they were written."""
        problems = Problems()
        page = Page.from_request(req, problems)
        problems.raise_if_any()
        run = find_run(req.context.workspace, run_id)
        resp.media = paginate(select_events(run.id), page, serializers.event)
