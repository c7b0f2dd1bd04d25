"""The paths that move a run: cancel, resume with a signal, retry, pause and unpause."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import RUN_ID
from app.openapi.paths.operation import json_answer, one, operation


def path_items() -> dict[str, dict[str, Any]]:
    """Cancelling, resuming, retrying, pausing and unpausing a run."""
    return {
        "/v1/workflow-runs/{run_id}/cancel": {
            "post": operation(
                "cancelWorkflowRun",
                "Cancel a PENDING, RUNNING, WAITING or PAUSED run.",
                "Workflow runs",
                {200: json_answer(one("WorkflowRun"), "The run, CANCELLED.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/workflow-runs/{run_id}/resume": {
            "post": operation(
                "resumeWorkflowRun",
                "Signal a run WAITING for this signal type; 409 when it is not.",
                "Workflow runs",
                {200: json_answer(one("WorkflowRun"), "The run, RUNNING.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="ResumeWorkflowRun",
            )
        },
        "/v1/workflow-runs/{run_id}/retry": {
            "post": operation(
                "retryWorkflowRun",
                "Run a FAILED run again from the failed step, its state kept.",
                "Workflow runs",
                {200: json_answer(one("WorkflowRun"), "The run, RUNNING.")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/workflow-runs/{run_id}/pause": {
            "post": operation(
                "pauseWorkflowRun",
                "Pause a PENDING, RUNNING or WAITING run: a step already executing finishes and is"
                " recorded, no further step starts, timers and signals are kept.",
                "Workflow runs",
                {200: json_answer(one("WorkflowRun"), "The run, PAUSED (pausedReason manual).")},
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/workflow-runs/{run_id}/unpause": {
            "post": operation(
                "unpauseWorkflowRun",
                "Take a manually paused run back to what it was doing; 409 for any other run.",
                "Workflow runs",
                {
                    200: json_answer(
                        one("WorkflowRun"),
                        "The run, PENDING, RUNNING or WAITING again (COMPLETED when its last step"
                        " completed while it was paused).",
                    )
                },
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="NoFields",
                body_required=False,
            )
        },
    }
