"""The paths of schedules: creating, listing, reading, deleting, pausing and unpausing them."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import PAGE, PAGE_SIZE, path_id
from app.openapi.paths.operation import json_answer, one, operation, page


def path_items() -> dict[str, dict[str, Any]]:
    """Schedules and their pause and unpause."""
    schedule_id = path_id("schedule_id", "sch", "schedule")
    return {
        "/v1/schedules": {
            "post": operation(
                "createSchedule",
                "Start runs of a definition on a cron expression or every intervalMs. 400,"
                " with nothing stored, for a bad field or another workspace's definition.",
                "Schedules",
                {201: json_answer(one("Schedule"), "The schedule, with its first fire.")},
                (400, *KEYED),
                body="CreateSchedule",
            ),
            "get": operation(
                "listSchedules",
                "The workspace's schedules, newest first; deleted ones are not listed.",
                "Schedules",
                {200: json_answer(page("Schedule"), "A page of schedules.")},
                (400, *KEYED),
                parameters=(PAGE, PAGE_SIZE),
            ),
        },
        "/v1/schedules/{schedule_id}": {
            "get": operation(
                "getSchedule",
                "One schedule.",
                "Schedules",
                {200: json_answer(one("Schedule"), "The schedule.")},
                (404, *KEYED),
                parameters=(schedule_id,),
            ),
            "delete": operation(
                "deleteSchedule",
                "Delete a schedule: it fires no more, and is 404 from then on. The runs it"
                " started go on.",
                "Schedules",
                {200: json_answer(one("Schedule"), "The schedule, deletedAt set.")},
                (404, *KEYED),
                parameters=(schedule_id,),
            ),
        },
        "/v1/schedules/{schedule_id}/pause": {
            "post": operation(
                "pauseSchedule",
                "Stop a schedule's fires; 409 when it is paused already.",
                "Schedules",
                {200: json_answer(one("Schedule"), "The schedule, paused.")},
                (400, 404, 409, *KEYED),
                parameters=(schedule_id,),
                body="NoFields",
                body_required=False,
            )
        },
        "/v1/schedules/{schedule_id}/unpause": {
            "post": operation(
                "unpauseSchedule",
                "Fire again; a fire owed whose time passed meanwhile runs at once (one, not"
                " one per missed time). 409 when the schedule is not paused.",
                "Schedules",
                {200: json_answer(one("Schedule"), "The schedule, firing again.")},
                (400, 404, 409, *KEYED),
                parameters=(schedule_id,),
                body="NoFields",
                body_required=False,
            )
        },
    }
