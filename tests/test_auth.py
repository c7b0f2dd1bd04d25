"""Authentication on every /v1 route, workspace isolation, and the admin token.

The routes come from the app's router, so a new route is checked as soon as it exists.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re

import falcon.testing
import pytest

from app.auth import Access
from app.factory import create_app
from models.approvals import ApprovalRequest
from models.base import utcnow
from models.config import current
from models.ids import new_id
from models.runs import WorkflowRun
from models.schedules import Schedule
from models.workspaces import ApiKey
from tests import run_states
from tests.api_support import (
    api_routes,
    assert_error,
    create_definition,
    definition_body,
)
from tests.conftest import ADMIN_TOKEN
from tests.support import post_run

#: A public address, so the webhook is accepted without resolving a name.
WEBHOOK = {"url": "https://93.184.215.14/hooks", "events": ["workflow.completed"]}

#: The body each route that needs one is called with; a `{name}` value is an id of `owned`.
BODIES = {
    "POST /v1/api-keys": {"name": "ci"},
    "POST /v1/workflow-definitions": definition_body(name="other"),
    "POST /v1/workflow-runs": {"definitionId": "{definition_id}"},
    "POST /v1/workflow-runs/{run_id}/resume": {"signalType": "go"},
    "POST /v1/workflow-runs/{run_id}/rerun": {"fromStep": "first"},
    "POST /v1/approval-requests/{request_id}/decide": {"decision": "approved"},
    "POST /v1/webhooks": WEBHOOK,
}

#: The id type of each route parameter (and body placeholder); `owned` has one of each.
PREFIXES = {
    "definition_id": "wfdef",
    "run_id": "wfrun",
    "key_id": "key",
    "request_id": "apr",
    "webhook_id": "wh",
    "schedule_id": "sch",
}

ROUTES = api_routes(create_app(current()))
SERVED = {str(route) for route in ROUTES}


def _parameters(route) -> set[str]:
    names = re.findall(r"{(\w+)}", route.template)
    body = BODIES.get(str(route), {})
    return set(names) | {m[1:-1] for m in body.values() if re.fullmatch(r"{\w+}", str(m))}


#: Every route that takes an API key: every /v1 route but creating a workspace.
KEY_ROUTES = [route for route in ROUTES if route.access is Access.API_KEY]

#: Routes that name a resource by id, in the path or the body: another workspace gets 404.
ID_ROUTES = [route for route in KEY_ROUTES if _parameters(route)]


@pytest.fixture
def owned(client, auth, workspace):
    """One resource of each type of `workspace` (PREFIXES), by id."""
    definition = create_definition(client, auth)
    run = post_run(client, auth, definition["id"]).json["data"]
    key = client.simulate_post("/v1/api-keys", json={"name": "spare"}, headers=auth).json["data"]
    _, _, request = run_states.paused(workspace[0])
    ids = {
        "definition_id": definition["id"],
        "run_id": run["id"],
        "key_id": key["id"],
        "request_id": request.id,
    }
    if "POST /v1/webhooks" in SERVED:
        webhook = client.simulate_post("/v1/webhooks", json=WEBHOOK, headers=auth)
        assert webhook.status_code == 201, webhook.text
        ids["webhook_id"] = webhook.json["data"]["id"]
    schedule = client.simulate_post(
        "/v1/schedules",
        json={"definitionId": definition["id"], "intervalMs": 60_000},
        headers=auth,
    )
    assert schedule.status_code == 201, schedule.text
    ids["schedule_id"] = schedule.json["data"]["id"]
    return ids


class _Ids(dict):
    """Ids for a route's parameters; one `owned` lacks is a well-formed id of nothing."""

    def __missing__(self, name: str) -> str:
        return new_id("wfrun")


def _call(client, route, ids, headers):
    ids = _Ids(ids)
    body = BODIES.get(str(route))
    if body is not None:
        body = {k: v.format_map(ids) if isinstance(v, str) else v for k, v in body.items()}
    path = route.template.format_map(ids)
    return client.simulate_request(route.method, path, json=body, headers=headers)


#: The only routes that take no API key, and what they take instead: a new one must be added here.
WITHOUT_KEY = {
    "GET /health": Access.PUBLIC,
    "GET /v1/openapi.json": Access.PUBLIC,
    "POST /v1/workspaces": Access.ADMIN,
    "PATCH /v1/workspaces/{workspace_id}": Access.ADMIN,
}


def test_only_the_routes_listed_go_without_an_api_key():
    others = {str(route): route.access for route in ROUTES if route.access is not Access.API_KEY}
    assert others.items() <= WITHOUT_KEY.items()
    assert {"GET /health", "POST /v1/workspaces"} <= set(others)
    assert set(BODIES) <= SERVED | {"POST /v1/webhooks"}, "a body for no route"
    unknown = {name for route in ID_ROUTES for name in _parameters(route)} - set(PREFIXES)
    assert not unknown, f"add {sorted(unknown)} to PREFIXES, and one of each to `owned`"


@pytest.mark.parametrize("route", KEY_ROUTES, ids=str)
def test_every_route_needs_a_key(client, owned, route):
    error = assert_error(_call(client, route, owned, {}), 401, "AUTH_ERROR")
    assert "x-api-key" in error["message"]


@pytest.mark.parametrize("route", KEY_ROUTES, ids=str)
def test_every_route_refuses_an_unknown_key(client, owned, route):
    for key in ("stv_not-a-real-key", "", "x" * 500):
        assert_error(_call(client, route, owned, {"x-api-key": key}), 401, "AUTH_ERROR")


def test_every_route_refuses_a_revoked_key(client, auth, owned):
    spare = client.simulate_post("/v1/api-keys", json={"name": "doomed"}, headers=auth).json
    doomed = {"x-api-key": spare["data"]["key"]}
    assert client.simulate_get("/v1/workspaces/current", headers=doomed).status_code == 200
    revoked = client.simulate_delete(f"/v1/api-keys/{spare['data']['id']}", headers=auth)
    assert revoked.status_code == 200
    for route in KEY_ROUTES:
        assert_error(_call(client, route, owned, doomed), 401, "AUTH_ERROR")
    assert client.simulate_get("/v1/workspaces/current", headers=auth).status_code == 200


def _untouched(client, auth, owned: dict[str, str]) -> tuple:
    """What a call from another workspace must not change."""
    run = WorkflowRun.get_by_id(owned["run_id"])
    webhook = owned.get("webhook_id")
    schedule = Schedule.get_by_id(owned["schedule_id"])
    return (
        run.status,
        run.version,
        ApiKey.get_by_id(owned["key_id"]).revoked_at,
        ApprovalRequest.get_by_id(owned["request_id"]).decision,
        WorkflowRun.select().count(),
        webhook and client.simulate_get(f"/v1/webhooks/{webhook}", headers=auth).status_code,
        (schedule.paused, schedule.deleted_at, schedule.next_fire_at),
    )


def _masked(error: dict, ids: dict[str, str]) -> dict:
    message = error["message"]
    for name, value in ids.items():
        message = message.replace(value, f"<{name}>")
    return {**error, "message": message}


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_another_workspaces_ids_are_404_as_if_they_did_not_exist(
    client, auth, owned, other_workspace, route
):
    # Given resources of one workspace, and ids of the same types that exist nowhere
    other = {"x-api-key": other_workspace[1]}
    before = _untouched(client, auth, owned)
    nowhere = {name: new_id(prefix) for name, prefix in PREFIXES.items()}

    # When another workspace names them
    theirs = assert_error(_call(client, route, owned, other), 404, "NOT_FOUND")

    # Then it gets the very answer it gets for ids that exist nowhere, and nothing changed
    absent = assert_error(_call(client, route, nowhere, other), 404, "NOT_FOUND")
    assert _masked(theirs, owned) == _masked(absent, nowhere)
    assert _untouched(client, auth, owned) == before


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_malformed_or_wrong_type_ids_are_404(client, auth, owned, route):
    names = sorted(owned)
    wrong_type = {name: owned[names[(i + 1) % len(names)]] for i, name in enumerate(names)}
    malformed = {name: f"{prefix}_x" for name, prefix in PREFIXES.items()}
    too_long = {name: f"{prefix}_{'0' * 27}" for name, prefix in PREFIXES.items()}
    not_ulid = {name: f"{prefix}_{'Z' * 26}" for name, prefix in PREFIXES.items()}
    for ids in (wrong_type, malformed, too_long, not_ulid, {name: "nope" for name in PREFIXES}):
        assert_error(_call(client, route, ids, auth), 404, "NOT_FOUND")


def test_lists_show_only_the_callers_workspace(client, owned, other_workspace):
    other = {"x-api-key": other_workspace[1]}
    for path in ("/v1/workflow-definitions", "/v1/workflow-runs", "/v1/schedules"):
        result = client.simulate_get(path, headers=other)
        assert result.json["data"] == [] and result.json["meta"]["total"] == 0
    keys = client.simulate_get("/v1/api-keys", headers=other).json["data"]
    assert [key["name"] for key in keys] == ["default"]


def test_health_needs_no_key(client):
    assert client.simulate_get("/health").status_code == 200


WORKSPACE = {"name": "New", "slug": "new"}


def test_creating_a_workspace_needs_the_admin_token(client, auth):
    assert_error(client.simulate_post("/v1/workspaces", json=WORKSPACE), 401, "AUTH_ERROR")
    for headers in ({"x-admin-token": "wrong"}, {"x-admin-token": ""}, auth):
        result = client.simulate_post("/v1/workspaces", json=WORKSPACE, headers=headers)
        assert_error(result, 401, "AUTH_ERROR")
    result = client.simulate_post(
        "/v1/workspaces", json=WORKSPACE, headers={"x-admin-token": ADMIN_TOKEN}
    )
    assert result.status_code == 201


def test_the_app_takes_the_admin_token_of_the_settings_it_is_given():
    client = falcon.testing.TestClient(create_app(dataclasses.replace(current(), admin_token="t2")))
    for token, status in ((ADMIN_TOKEN, 401), ("t2", 201)):
        result = client.simulate_post(
            "/v1/workspaces", json=WORKSPACE, headers={"x-admin-token": token}
        )
        assert result.status_code == status, result.json


def test_workspace_creation_is_disabled_without_an_admin_token():
    client = falcon.testing.TestClient(create_app(dataclasses.replace(current(), admin_token=None)))
    for headers in ({}, {"x-admin-token": ADMIN_TOKEN}, {"x-admin-token": ""}):
        result = client.simulate_post("/v1/workspaces", json=WORKSPACE, headers=headers)
        error = assert_error(result, 401, "AUTH_ERROR")
        assert "disabled" in error["message"]


def test_last_used_at_is_refreshed_at_most_once_a_minute(client, auth, workspace):
    key = ApiKey.get(ApiKey.workspace == workspace[0].id)
    assert key.last_used_at is None
    client.simulate_get("/v1/workspaces/current", headers=auth)
    first = ApiKey.get_by_id(key.id).last_used_at
    assert first is not None
    client.simulate_get("/v1/workspaces/current", headers=auth)
    assert ApiKey.get_by_id(key.id).last_used_at == first
    stale = utcnow() - datetime.timedelta(minutes=5)
    ApiKey.update(last_used_at=stale).where(ApiKey.id == key.id).execute()
    client.simulate_get("/v1/workspaces/current", headers=auth)
    assert ApiKey.get_by_id(key.id).last_used_at > stale + datetime.timedelta(minutes=4)


def test_raw_keys_are_never_logged(client, auth, caplog):
    with caplog.at_level(logging.DEBUG):
        client.simulate_get("/v1/workspaces/current", headers=auth)
        client.simulate_get("/v1/workspaces/current", headers={"x-api-key": "stv_leaky"})
        client.simulate_post("/v1/workspaces", json=WORKSPACE, headers={"x-admin-token": "guess"})
    assert auth["x-api-key"] not in caplog.text
    assert "stv_leaky" not in caplog.text and "guess" not in caplog.text
