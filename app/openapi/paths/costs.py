"""The paths of what model calls cost: one run's calls, and a workspace's over a span."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import RUN_ID, query
from app.openapi.paths.operation import json_answer, one, operation


def path_items() -> dict[str, dict[str, Any]]:
    """A run's cost and the workspace's summary."""
    return {
        "/v1/workflow-runs/{run_id}/cost": {
            "get": operation(
                "getRunCost",
                "What the run's model calls cost, each call oldest first.",
                "Costs",
                {200: json_answer(one("RunCost"), "The run's costs.")},
                (404, *KEYED),
                parameters=(RUN_ID,),
            )
        },
        "/v1/cost/summary": {
            "get": operation(
                "getCostSummary",
                "The workspace's model calls in [from, to): totals, per model, per UTC day.",
                "Costs",
                {200: json_answer(one("CostSummary"), "The summary.")},
                (400, *KEYED),
                parameters=(
                    query(
                        "from",
                        _moment(),
                        "Calls made at or after it. Without it the window has no start (without"
                        " `from` and `to`, all time). Must be before `to`.",
                    ),
                    query(
                        "to",
                        _moment(),
                        "Calls made before it; a date includes that whole day. Without it the"
                        " window has no end.",
                    ),
                ),
            )
        },
    }


def _moment() -> dict[str, Any]:
    """A date or a timestamp, as `from` and `to` take them."""
    return {
        "type": "string",
        "anyOf": [{"format": "date"}, {"format": "date-time"}],
        "description": "An ISO-8601 date or timestamp (UTC when it names no zone).",
    }
