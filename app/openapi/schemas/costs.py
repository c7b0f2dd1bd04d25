"""The schemas of what model calls cost: one call, one run, a workspace over days."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.json_schema import OBJECT, integer, record, ref, text


def _llm_call() -> dict[str, Any]:
    return record(
        {
            "id": id_of("llm"),
            "stepRunId": id_of("srun"),
            "stepName": {**text(1, 100), "description": "The name of the call's step."},
            "attempt": integer(1),
            "model": text(),
            "provider": text(),
            "inputTokens": integer(0),
            "outputTokens": integer(0),
            "costUsd": {"type": "number", "minimum": 0},
            "durationMs": integer(0),
            "outcome": {"enum": ["completed", "failed"]},
            "error": nullable(OBJECT),
            "createdAt": TIMESTAMP,
        }
    )


def _amounts(key: str, key_schema: dict[str, Any]) -> dict[str, Any]:
    return record(
        {
            key: key_schema,
            "costUsd": {"type": "number", "minimum": 0},
            "inputTokens": integer(0),
            "outputTokens": integer(0),
            "calls": integer(0),
        }
    )


def _run_cost() -> dict[str, Any]:
    return record(
        {
            "workflowRunId": id_of("wfrun"),
            "totalCostUsd": {"type": "number", "minimum": 0},
            "totalInputTokens": integer(0),
            "totalOutputTokens": integer(0),
            "calls": {"type": "array", "items": ref("LlmCall")},
        }
    )


def _cost_summary() -> dict[str, Any]:
    day = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    return record(
        {
            "from": {**nullable(TIMESTAMP), "description": "The start of the window; null: none."},
            "to": {**nullable(TIMESTAMP), "description": "The end of the window; null: none."},
            "totalCostUsd": {"type": "number", "minimum": 0},
            "totalInputTokens": integer(0),
            "totalOutputTokens": integer(0),
            "calls": integer(0),
            "byModel": {"type": "array", "items": _amounts("model", text())},
            "byDay": {"type": "array", "items": _amounts("day", day)},
        }
    )


def component_schemas() -> dict[str, dict[str, Any]]:
    """`LlmCall`, `RunCost` and `CostSummary`."""
    return {
        "LlmCall": _llm_call(),
        "RunCost": _run_cost(),
        "CostSummary": _cost_summary(),
    }
