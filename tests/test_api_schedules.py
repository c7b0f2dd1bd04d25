"""POST/GET /v1/schedules, GET/DELETE /:id, POST /:id/pause and /unpause: answers, the checks
of a new schedule, and another workspace's view. No clock runs here: the clock's fires are in
`tests/test_schedule_fires.py` (a fire is made here by calling the clock's query itself).
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.steps.fields import MAX_DURATION_MS
from models.base import utcnow
from models.fire_times import time_zones
from models.ids import new_id
from models.runs import WorkflowRun
from models.schedules import Schedule, fire_due_schedules, fire_key
from tests.api_support import TIMESTAMP, assert_error, create_definition

#: The fields a schedule answers with, in every call.
SCHEDULE_FIELDS = {
    "id",
    "workspaceId",
    "definitionId",
    "cron",
    "intervalMs",
    "timezone",
    "input",
    "overlap",
    "paused",
    "nextFireAt",
    "lastRunId",
    "createdAt",
    "updatedAt",
    "deletedAt",
}

#: Any text a JSON body carries to PostgreSQL intact: no NUL, no lone surrogate.
storable_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


@pytest.fixture
def definition_id(client, auth) -> str:
    return create_definition(client, auth)["id"]


def _post(client, auth, definition_id: str, **body):
    return client.simulate_post(
        "/v1/schedules", json={"definitionId": definition_id, **body}, headers=auth
    )


def _created(client, auth, definition_id: str, **body) -> dict:
    result = _post(client, auth, definition_id, **body)
    assert result.status_code == 201, result.text
    return result.json["data"]


def _moment(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp).replace(tzinfo=None)


def _fire_now(schedule_id: str) -> str:
    """Make the schedule due and fire it as the clock would; the run it started."""
    due = utcnow().replace(microsecond=0)
    Schedule.update(next_fire_at=due).where(Schedule.id == schedule_id).execute()
    (run_id,) = fire_due_schedules(10)
    assert WorkflowRun.get_by_id(run_id).idempotency_key == fire_key(schedule_id, due)
    return run_id


# Creating.


def test_an_interval_schedule_is_created_with_its_defaults_and_first_fire(
    client, auth, workspace, definition_id
):
    data = _created(client, auth, definition_id, intervalMs=1500)

    assert set(data) == SCHEDULE_FIELDS
    assert data["id"].startswith("sch_")
    assert data["workspaceId"] == workspace[0].id and data["definitionId"] == definition_id
    assert (data["cron"], data["intervalMs"], data["timezone"]) == (None, 1500, "UTC")
    assert (data["input"], data["overlap"], data["paused"]) == ({}, "skip", False)
    assert (data["lastRunId"], data["deletedAt"]) == (None, None)
    assert TIMESTAMP.match(data["nextFireAt"]) and TIMESTAMP.match(data["createdAt"])
    first = _moment(data["nextFireAt"]) - _moment(data["createdAt"])
    assert datetime.timedelta(milliseconds=1499) <= first <= datetime.timedelta(milliseconds=1500)


def test_a_cron_schedule_fires_first_at_the_crons_next_local_time(client, auth, definition_id):
    data = _created(
        client,
        auth,
        definition_id,
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        input={"report": "daily"},
        overlap="allow",
    )

    assert (data["cron"], data["intervalMs"], data["timezone"]) == (
        "30 2 * * *",
        None,
        "Europe/Berlin",
    )
    assert (data["input"], data["overlap"]) == ({"report": "daily"}, "allow")
    fire = _moment(data["nextFireAt"]).replace(tzinfo=datetime.UTC)
    local = fire.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    # 02:30 local; 03:00 on the day the spring change skips 02:30.
    assert (local.hour, local.minute) in ((2, 30), (3, 0))
    assert (
        datetime.timedelta(0)
        < fire - _moment(data["createdAt"]).replace(tzinfo=datetime.UTC)
        <= datetime.timedelta(days=1, hours=1)
    )


_BAD_BODIES = [
    ({}, ("cron", "intervalMs")),
    ({"cron": "* * * * *", "intervalMs": 1000}, ("cron", "intervalMs")),
    ({"intervalMs": 999}, ("intervalMs",)),
    ({"intervalMs": 0}, ("intervalMs",)),
    ({"intervalMs": -1000}, ("intervalMs",)),
    ({"intervalMs": 1500.5}, ("intervalMs",)),
    ({"intervalMs": "1000"}, ("intervalMs",)),
    ({"intervalMs": True}, ("intervalMs",)),
    ({"intervalMs": None}, ("intervalMs",)),
    ({"intervalMs": MAX_DURATION_MS + 1}, ("intervalMs",)),
    ({"cron": "* * * * * *"}, ("cron",)),  # six fields: croniter's seconds
    ({"cron": "0 0 * * * * 2030"}, ("cron",)),
    ({"cron": "* * * *"}, ("cron",)),
    ({"cron": "@daily"}, ("cron",)),
    ({"cron": "61 * * * *"}, ("cron",)),
    ({"cron": "*/0 * * * *"}, ("cron",)),
    ({"cron": "a b c d e"}, ("cron",)),
    ({"cron": "H * * * *"}, ("cron",)),
    ({"cron": "0 0 31 2 *"}, ("cron",)),  # never: February has no 31st
    ({"cron": ""}, ("cron",)),
    ({"cron": 5}, ("cron",)),
    ({"cron": "* " * 60}, ("cron",)),
    ({"intervalMs": 1000, "timezone": "Mars/Olympus_Mons"}, ("timezone",)),
    ({"intervalMs": 1000, "timezone": "europe/berlin"}, ("timezone",)),
    ({"intervalMs": 1000, "timezone": "../../etc/passwd"}, ("timezone",)),
    ({"intervalMs": 1000, "timezone": "America"}, ("timezone",)),
    ({"intervalMs": 1000, "timezone": ""}, ("timezone",)),
    ({"cron": "0 9 * * *", "timezone": "Nowhere/City"}, ("timezone",)),
    ({"intervalMs": 1000, "overlap": "queue"}, ("overlap",)),
    ({"intervalMs": 1000, "input": []}, ("input",)),
    ({"intervalMs": 1000, "input": "x"}, ("input",)),
    ({"intervalMs": 1000, "priority": 1}, ("priority",)),
    ({"intervalMs": 1000, "definitionId": new_id("wfdef")}, ("definitionId",)),
    ({"intervalMs": 1000, "definitionId": "wfdef_nope"}, ("definitionId",)),
    ({"intervalMs": 1000, "definitionId": new_id("wfrun")}, ("definitionId",)),
    ({"intervalMs": 1000, "definitionId": None}, ("definitionId",)),
]


@pytest.mark.parametrize(("body", "fields"), _BAD_BODIES)
def test_a_bad_schedule_is_400_naming_its_fields_and_nothing_is_stored(
    client, auth, definition_id, body, fields
):
    result = _post(client, auth, definition_id, **body)

    error = assert_error(result, 400, "VALIDATION_ERROR", *fields)
    assert error["message"] == "the schedule is invalid"
    assert Schedule.select().count() == 0


def test_a_schedule_needs_a_definition_id(client, auth):
    result = client.simulate_post("/v1/schedules", json={"intervalMs": 1000}, headers=auth)

    assert_error(result, 400, "VALIDATION_ERROR", "definitionId")
    assert Schedule.select().count() == 0


def test_another_workspaces_definition_is_400(client, auth, other_workspace):
    other = create_definition(client, {"x-api-key": other_workspace[1]})

    result = _post(client, auth, other["id"], intervalMs=1000)

    assert_error(result, 400, "VALIDATION_ERROR", "definitionId")
    assert Schedule.select().count() == 0


def test_an_input_over_the_document_limit_is_413_and_nothing_is_stored(client, auth, definition_id):
    result = _post(client, auth, definition_id, intervalMs=1000, input={"blob": "x" * 300_000})

    assert_error(result, 413, "PAYLOAD_TOO_LARGE")
    assert Schedule.select().count() == 0


_QUIET = settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_QUIET
@given(interval=st.integers(max_value=999))
def test_any_interval_under_a_second_is_400(client, auth, definition_id, interval):
    result = _post(client, auth, definition_id, intervalMs=interval)

    assert_error(result, 400, "VALIDATION_ERROR", "intervalMs")
    assert Schedule.select().count() == 0


_CRON_FIELD = st.sampled_from(["*", "0", "5", "*/5", "1-3", "1,2", "jan", "mon-fri", "L", "?"])


@_QUIET
@given(fields=st.lists(_CRON_FIELD, min_size=1).filter(lambda fields: len(fields) != 5))
def test_any_cron_of_other_than_five_fields_is_400(client, auth, definition_id, fields):
    result = _post(client, auth, definition_id, cron=" ".join(fields))

    assert_error(result, 400, "VALIDATION_ERROR", "cron")
    assert Schedule.select().count() == 0


@_QUIET
@given(timezone=storable_text.filter(lambda name: name not in time_zones()))
def test_any_timezone_that_is_not_an_iana_name_is_400(client, auth, definition_id, timezone):
    result = _post(client, auth, definition_id, cron="0 9 * * *", timezone=timezone)

    assert_error(result, 400, "VALIDATION_ERROR", "timezone")
    assert Schedule.select().count() == 0


@_QUIET
@given(timezone=st.sampled_from(sorted(time_zones())))
def test_a_weekday_cron_in_any_time_zone_fires_at_its_local_time(
    client, auth, definition_id, timezone
):
    data = _created(client, auth, definition_id, cron="15 9 * * 1-5", timezone=timezone)

    fire = _moment(data["nextFireAt"]).replace(tzinfo=datetime.UTC)
    local = fire.astimezone(zoneinfo.ZoneInfo(timezone))
    assert (local.hour, local.minute, local.second) == (9, 15, 0) and local.isoweekday() <= 5


# Reading, listing, pausing, deleting.


def test_schedules_are_listed_newest_first_and_paged(client, auth, definition_id):
    ids = [_created(client, auth, definition_id, intervalMs=1000 * n)["id"] for n in (1, 2, 3)]

    first = client.simulate_get("/v1/schedules", params={"pageSize": 2}, headers=auth).json
    second = client.simulate_get("/v1/schedules", params={"page": 2, "pageSize": 2}, headers=auth)

    assert [s["id"] for s in first["data"]] == ids[::-1][:2]
    assert [s["id"] for s in second.json["data"]] == ids[:1]
    assert first["meta"] == {"page": 1, "pageSize": 2, "total": 3, "totalPages": 2}
    bad = client.simulate_get("/v1/schedules", params={"pageSize": 101}, headers=auth)
    assert_error(bad, 400, "VALIDATION_ERROR", "pageSize")


def test_one_schedule_is_read_by_its_id(client, auth, definition_id):
    created = _created(client, auth, definition_id, cron="0 * * * *")

    result = client.simulate_get(f"/v1/schedules/{created['id']}", headers=auth)

    assert result.status_code == 200 and result.json["data"] == created


@pytest.mark.parametrize("schedule_id", [new_id("sch"), "sch_nope", new_id("wfrun")])
def test_an_unknown_or_malformed_schedule_id_is_404(client, auth, schedule_id):
    result = client.simulate_get(f"/v1/schedules/{schedule_id}", headers=auth)

    assert_error(result, 404, "NOT_FOUND")


def test_pause_hides_the_next_fire_and_unpause_shows_the_one_owed(client, auth, definition_id):
    created = _created(client, auth, definition_id, intervalMs=60_000)
    path = f"/v1/schedules/{created['id']}"

    paused = client.simulate_post(f"{path}/pause", headers=auth)
    assert paused.status_code == 200, paused.text
    assert (paused.json["data"]["paused"], paused.json["data"]["nextFireAt"]) == (True, None)
    assert client.simulate_get(path, headers=auth).json["data"]["nextFireAt"] is None
    assert_error(client.simulate_post(f"{path}/pause", headers=auth), 409, "CONFLICT")

    unpaused = client.simulate_post(f"{path}/unpause", headers=auth, json={})
    assert unpaused.status_code == 200, unpaused.text
    assert unpaused.json["data"]["paused"] is False
    assert unpaused.json["data"]["nextFireAt"] == created["nextFireAt"]
    assert_error(client.simulate_post(f"{path}/unpause", headers=auth), 409, "CONFLICT")


def test_pause_and_unpause_take_no_body_fields(client, auth, definition_id):
    created = _created(client, auth, definition_id, intervalMs=60_000)

    for operation in ("pause", "unpause"):
        result = client.simulate_post(
            f"/v1/schedules/{created['id']}/{operation}", headers=auth, json={"at": "now"}
        )
        assert_error(result, 400, "VALIDATION_ERROR", "at")
    assert Schedule.get_by_id(created["id"]).paused is False


def test_delete_stops_the_fires_and_leaves_the_runs_it_started(client, auth, definition_id):
    created = _created(client, auth, definition_id, intervalMs=1000, input={"n": 1})
    run_id = _fire_now(created["id"])
    path = f"/v1/schedules/{created['id']}"

    deleted = client.simulate_delete(path, headers=auth)

    assert deleted.status_code == 200, deleted.text
    data = deleted.json["data"]
    assert TIMESTAMP.match(data["deletedAt"]) and data["nextFireAt"] is None
    assert data["lastRunId"] == run_id
    for method, route in (("GET", path), ("DELETE", path), ("POST", f"{path}/pause")):
        assert_error(client.simulate_request(method, route, headers=auth), 404, "NOT_FOUND")
    assert client.simulate_get("/v1/schedules", headers=auth).json["meta"]["total"] == 0
    Schedule.update(next_fire_at=utcnow()).where(Schedule.id == created["id"]).execute()
    assert fire_due_schedules(10) == []  # a deleted schedule is never due
    run = client.simulate_get(f"/v1/workflow-runs/{run_id}", headers=auth).json["data"]
    assert (run["status"], run["scheduleId"], run["input"]) == ("PENDING", created["id"], {"n": 1})


# Another workspace.


def test_another_workspaces_schedule_is_404_on_every_route_and_left_as_it_is(
    client, auth, other_workspace, definition_id
):
    created = _created(client, auth, definition_id, intervalMs=1000)
    path = f"/v1/schedules/{created['id']}"
    other = {"x-api-key": other_workspace[1]}

    for method, route in (
        ("GET", path),
        ("DELETE", path),
        ("POST", f"{path}/pause"),
        ("POST", f"{path}/unpause"),
    ):
        assert_error(client.simulate_request(method, route, headers=other), 404, "NOT_FOUND")
    assert client.simulate_get("/v1/schedules", headers=other).json["data"] == []
    assert client.simulate_get(path, headers=auth).json["data"] == created


def test_a_fire_starts_its_run_in_the_schedules_workspace(client, auth, workspace, definition_id):
    created = _created(client, auth, definition_id, intervalMs=1000, input={"n": 2})

    run = WorkflowRun.get_by_id(_fire_now(created["id"]))

    assert (run.workspace_id, run.definition_id) == (workspace[0].id, definition_id)
    assert (run.schedule_id, run.input, run.status) == (created["id"], {"n": 2}, "PENDING")
    fired = client.simulate_get(f"/v1/schedules/{created['id']}", headers=auth).json["data"]
    assert fired["lastRunId"] == run.id
    # The next fire is on the interval's steps from the one fired, and after it.
    due = _moment(run.idempotency_key.removeprefix(f"schedule:{created['id']}:"))
    step = _moment(fired["nextFireAt"]) - due
    assert step > datetime.timedelta(0) and step % datetime.timedelta(
        seconds=1
    ) == datetime.timedelta(0)
