"""Schedules (SPEC section 9): POST/GET /v1/schedules, GET/DELETE /:id, POST /:id/pause and
/:id/unpause.

The clock starts the runs (`models.schedules.fire_due_schedules`). `nextFireAt` is null while a
schedule is paused; unpausing fires the fire it owes at once when that time has passed (one
catch-up, not one per missed time). A deleted schedule is 404 and fires no more; the runs it
started go on.
"""

from __future__ import annotations

from typing import Any

import falcon

from actors.steps.fields import MAX_DURATION_MS
from app import serializers
from app.errors import PayloadTooLarge
from app.lookup import find_in_workspace
from app.media import read_no_fields, read_object
from app.pagination import Page, paginate
from app.run_creation import definition_of_workspace
from models.documents import MAX_DOCUMENT_BYTES, serialized_size
from models.fire_times import MIN_INTERVAL_MS, Timing, cron_problem, time_zones
from models.schedules import (
    OVERLAPS,
    SKIP,
    Schedule,
    create_schedule,
    delete_schedule,
    pause_schedule,
    schedule_in_workspace,
    schedules_of_workspace,
    unpause_schedule,
)
from models.validation import Fields, Problems
from models.workspaces import Workspace

CREATE_FIELDS = ("definitionId", "cron", "intervalMs", "timezone", "input", "overlap")
#: Longest cron expression and time zone name: the widths of their columns.
MAX_CRON_LENGTH = Schedule.cron.max_length
MAX_TIMEZONE_LENGTH = Schedule.timezone.max_length


class Schedules:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """201 with the schedule and its first fire; 400 (nothing stored) for a bad field,
        a definition that is not this workspace's included."""
        workspace = req.context.workspace
        definition_id, timing, run_input, overlap = _read_schedule(read_object(req), workspace)
        schedule = create_schedule(workspace.id, definition_id, timing, run_input, overlap)
        resp.status = falcon.HTTP_201
        resp.media = {"success": True, "data": serializers.schedule(schedule)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; deleted schedules are not listed."""
        problems = Problems()
        page = Page.from_request(req, problems)
        problems.raise_if_any()
        query = schedules_of_workspace(req.context.workspace.id)
        resp.media = paginate(query, page, serializers.schedule)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, schedule_id: str) -> None:
        resp.media = {"success": True, "data": serializers.schedule(_find(req, schedule_id))}

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, schedule_id: str) -> None:
        """200 with the record, `deletedAt` set; the runs it started are left alone."""
        schedule = delete_schedule(_find(req, schedule_id))
        resp.media = {"success": True, "data": serializers.schedule(schedule)}

    def on_post_pause(self, req: falcon.Request, resp: falcon.Response, schedule_id: str) -> None:
        """200 with the schedule paused; 409 when it is paused already."""
        read_no_fields(req)
        schedule = pause_schedule(_find(req, schedule_id))
        resp.media = {"success": True, "data": serializers.schedule(schedule)}

    def on_post_unpause(self, req: falcon.Request, resp: falcon.Response, schedule_id: str) -> None:
        """200 with the schedule firing again; 409 when it is not paused."""
        read_no_fields(req)
        schedule = unpause_schedule(_find(req, schedule_id))
        resp.media = {"success": True, "data": serializers.schedule(schedule)}


def _read_schedule(
    body: dict[str, Any], workspace: Workspace
) -> tuple[str, Timing, dict[str, Any], str]:
    """`(definitionId, timing, input, overlap)`, checked, with their defaults."""
    problems = Problems()
    fields = Fields(problems, body)
    fields.only(CREATE_FIELDS)
    definition_id = fields.string("definitionId")
    cron = fields.string("cron", max_length=MAX_CRON_LENGTH, required=False)
    interval_ms = fields.integer(
        "intervalMs", minimum=MIN_INTERVAL_MS, maximum=MAX_DURATION_MS, required=False
    )
    timezone = fields.string("timezone", max_length=MAX_TIMEZONE_LENGTH, required=False)
    run_input = fields.object("input", required=False)
    overlap = fields.choice("overlap", OVERLAPS, required=False)
    _one_of_cron_and_interval(fields)
    if timezone is not None and timezone not in time_zones():
        fields.add("timezone", "must be an IANA time zone name, such as UTC or Europe/Berlin")
        timezone = None
    if cron is not None and (problem := cron_problem(cron, timezone or "UTC")) is not None:
        fields.add("cron", problem)
    if definition_id is not None and definition_of_workspace(workspace.id, definition_id) is None:
        fields.add("definitionId", "names no workflow definition of this workspace")
    problems.raise_if_any("the schedule is invalid")
    run_input = run_input if run_input is not None else {}
    if serialized_size(run_input) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"input must be at most {MAX_DOCUMENT_BYTES} bytes as JSON")
    timing = Timing(cron, interval_ms, timezone or "UTC")
    return definition_id, timing, run_input, overlap or SKIP


def _one_of_cron_and_interval(fields: Fields) -> None:
    given = [name for name in ("cron", "intervalMs") if name in fields.obj]
    if not given:
        fields.add("cron", "is required unless intervalMs is given")
        fields.add("intervalMs", "is required unless cron is given")
    elif len(given) == 2:
        fields.add("cron", "must not be given with intervalMs")
        fields.add("intervalMs", "must not be given with cron")


def _find(req: falcon.Request, schedule_id: str) -> Schedule:
    return find_in_workspace(
        schedule_in_workspace, "sch", schedule_id, req.context.workspace, "schedule"
    )
