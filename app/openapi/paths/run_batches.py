"""The paths that act on many runs: batch create, bulk cancel and bulk retry."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.paths.operation import json_answer, one, operation
from models.json_schema import ref


def path_items() -> dict[str, dict[str, Any]]:
    """Creating up to 1,000 runs at once; cancelling or retrying every run a filter matches."""
    bulk = json_answer(one("BulkResult"), "How many runs matched, and how many moved.")
    return {
        "/v1/workflow-runs/batch": {
            "post": operation(
                "createWorkflowRunBatch",
                "Create up to 1,000 runs, all or none: any bad item is 400 and creates none.",
                "Workflow runs",
                {201: json_answer(ref("WorkflowRunBatch"), "The runs, in the order asked.")},
                (400, *KEYED),
                body="CreateWorkflowRunBatch",
            )
        },
        "/v1/workflow-runs/bulk/cancel": {
            "post": operation(
                "bulkCancelWorkflowRuns",
                "Cancel every matching run that allows it; the others are counted, not failed.",
                "Workflow runs",
                {200: bulk},
                (400, *KEYED),
                body="BulkRunFilter",
            )
        },
        "/v1/workflow-runs/bulk/retry": {
            "post": operation(
                "bulkRetryWorkflowRuns",
                "Retry every matching FAILED run from its failed step.",
                "Workflow runs",
                {200: bulk},
                (400, *KEYED),
                body="BulkRunFilter",
            )
        },
    }
