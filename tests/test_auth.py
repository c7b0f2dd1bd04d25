"""Authentication on every /v1 route, workspace isolation, and the admin token."""

from __future__ import annotations

import datetime
import logging

import falcon.testing
import pytest

from app.factory import create_app
from models.base import utcnow
from models.workspaces import ApiKey
from tests.api_support import assert_error, create_definition, create_run, definition_body
from tests.conftest import ADMIN_TOKEN

#: Every /v1 route that takes an API key: (method, path template, JSON body).
KEY_ROUTES = [
    ("GET", "/v1/workspaces/current", None),
    ("POST", "/v1/api-keys", {"name": "ci"}),
    ("GET", "/v1/api-keys", None),
    ("DELETE", "/v1/api-keys/{key}", None),
    ("POST", "/v1/workflow-definitions", definition_body(name="other")),
    ("GET", "/v1/workflow-definitions", None),
    ("GET", "/v1/workflow-definitions/{definition}", None),
    ("POST", "/v1/workflow-runs", {"definitionId": "{definition}"}),
    ("GET", "/v1/workflow-runs", None),
    ("GET", "/v1/workflow-runs/{run}", None),
    ("GET", "/v1/workflow-runs/{run}/events", None),
]

#: Routes that name a resource by id: another workspace gets 404.
ID_ROUTES = [
    route
    for route in KEY_ROUTES
    if "{" in route[1] or (route[2] or {}).get("definitionId") == "{definition}"
]


@pytest.fixture
def owned(client, auth, workspace):
    """A definition, a run and a spare API key of `workspace`, by id."""
    definition = create_definition(client, auth)
    run = create_run(client, auth, definition["id"]).json["data"]
    key = client.simulate_post("/v1/api-keys", json={"name": "spare"}, headers=auth).json["data"]
    return {"definition": definition["id"], "run": run["id"], "key": key["id"]}


def _call(client, route, ids, headers):
    method, template, body = route
    path = template.format(**ids)
    if isinstance(body, dict):
        body = {k: v.format(**ids) if isinstance(v, str) else v for k, v in body.items()}
    return client.simulate_request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("route", KEY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_every_route_needs_a_key(client, owned, route):
    error = assert_error(_call(client, route, owned, {}), 401, "AUTH_ERROR")
    assert "x-api-key" in error["message"]


@pytest.mark.parametrize("route", KEY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
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


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_another_workspaces_resources_are_404(client, owned, other_workspace, route):
    other = {"x-api-key": other_workspace[1]}
    assert_error(_call(client, route, owned, other), 404, "NOT_FOUND")
    assert ApiKey.get_by_id(owned["key"]).revoked_at is None


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_malformed_or_wrong_type_ids_are_404(client, auth, owned, route):
    wrong_type = {"definition": owned["run"], "run": owned["definition"], "key": owned["run"]}
    for ids in (wrong_type, {"definition": "nope", "run": "wfrun_x", "key": "key_" + "0" * 27}):
        assert_error(_call(client, route, ids, auth), 404, "NOT_FOUND")


def test_lists_show_only_the_callers_workspace(client, owned, other_workspace):
    other = {"x-api-key": other_workspace[1]}
    for path in ("/v1/workflow-definitions", "/v1/workflow-runs"):
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


def test_workspace_creation_is_disabled_without_an_admin_token():
    client = falcon.testing.TestClient(create_app(admin_token=None))
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
