"""The schema of the health check's answer."""

from __future__ import annotations

from typing import Any

from models.json_schema import record


def component_schemas() -> dict[str, dict[str, Any]]:
    """`Health`: each check, and `degraded` when one fails."""
    check = {"type": "string", "description": "`ok`, or `error: <kind>`."}
    return {
        "Health": record(
            {
                "status": {"enum": ["ok", "degraded"]},
                "checks": record({"database": check, "queue": check}),
            }
        ),
    }
