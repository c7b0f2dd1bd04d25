"""The path that reruns a final run from one of its steps, as a new run."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import RUN_ID
from app.openapi.paths.operation import json_answer, one, operation


def path_items() -> dict[str, dict[str, Any]]:
    """Rerunning a COMPLETED, FAILED or CANCELLED run from a step it entered."""
    return {
        "/v1/workflow-runs/{run_id}/rerun": {
            "post": operation(
                "rerunWorkflowRun",
                "Start a new run of the same definition at fromStep, with the state the run "
                "had when it last entered it; the run itself is untouched.",
                "Workflow runs",
                {
                    201: json_answer(one("WorkflowRun"), "The new run, PENDING, with rerunOf."),
                    200: json_answer(one("WorkflowRun"), "The run created before with this key."),
                },
                (400, 404, 409, *KEYED),
                parameters=(RUN_ID,),
                body="RerunWorkflowRun",
            )
        },
    }
