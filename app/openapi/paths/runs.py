"""The paths of workflow runs: starting them, listing them, reading one and its events."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import PAGE, PAGE_SIZE, RUN_ID, query
from app.openapi.paths.operation import json_answer, one, operation, page
from models import statuses


def path_items() -> dict[str, dict[str, Any]]:
    """Starting and listing runs, one run, and its events."""
    return {
        "/v1/workflow-runs": {
            "post": operation(
                "createWorkflowRun",
                "Start a run of a definition; idempotent with idempotencyKey.",
                "Workflow runs",
                {
                    201: json_answer(one("WorkflowRun"), "A new run, PENDING."),
                    200: json_answer(one("WorkflowRun"), "The run created before with this key."),
                },
                (400, 404, *KEYED),
                body="CreateWorkflowRun",
            ),
            "get": operation(
                "listWorkflowRuns",
                "The workspace's runs, newest first.",
                "Workflow runs",
                {200: json_answer(page("WorkflowRun"), "A page of runs.")},
                (400, *KEYED),
                parameters=(
                    PAGE,
                    PAGE_SIZE,
                    query("status", {"enum": list(statuses.RUN_STATUSES)}, "Only this status."),
                    query(
                        "definitionId",
                        {"type": "string"},
                        "Only runs of this definition; an id of another format matches none.",
                    ),
                ),
            ),
        },
        "/v1/workflow-runs/{run_id}": {
            "get": operation(
                "getWorkflowRun",
                "One run, with its step runs in order.",
                "Workflow runs",
                {200: json_answer(one("WorkflowRunWithSteps"), "The run.")},
                (404, *KEYED),
                parameters=(RUN_ID,),
            )
        },
        "/v1/workflow-runs/{run_id}/events": {
            "get": operation(
                "listRunEvents",
                "The run's events, oldest first.",
                "Workflow runs",
                {200: json_answer(page("RunEvent"), "A page of events.")},
                (400, 404, *KEYED),
                parameters=(RUN_ID, PAGE, PAGE_SIZE),
            )
        },
    }
