"""The schema of a schedule."""

from __future__ import annotations

from typing import Any

from actors.steps.fields import MAX_DURATION_MS
from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.fire_times import MIN_INTERVAL_MS
from models.json_schema import OBJECT, integer, record, text
from models.schedules import OVERLAPS, Schedule


def component_schemas() -> dict[str, dict[str, Any]]:
    """`Schedule`: exactly one of `cron` and `intervalMs` is set."""
    return {
        "Schedule": record(
            {
                "id": id_of("sch"),
                "workspaceId": id_of("ws"),
                "definitionId": id_of("wfdef"),
                "cron": nullable(text(1, Schedule.cron.max_length)),
                "intervalMs": nullable(integer(MIN_INTERVAL_MS, MAX_DURATION_MS)),
                "timezone": text(1, Schedule.timezone.max_length),
                "input": OBJECT,
                "overlap": {"enum": list(OVERLAPS)},
                "paused": {"type": "boolean"},
                "nextFireAt": {
                    **nullable(TIMESTAMP),
                    "description": "When the clock starts the next run; null while paused, "
                    "once deleted, or when the cron has no time left. A time already past "
                    "is due: it fires within a clock tick.",
                },
                "lastRunId": {
                    **nullable(id_of("wfrun")),
                    "description": "The run the latest fire started; `overlap: skip` starts "
                    "nothing while it is not final.",
                },
                "createdAt": TIMESTAMP,
                "updatedAt": TIMESTAMP,
                "deletedAt": nullable(TIMESTAMP),
            }
        ),
    }
