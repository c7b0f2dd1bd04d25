"""POST /v1/workspaces and GET /v1/workspaces/current."""

from __future__ import annotations

import pytest

from models.keys import hash_key
from models.workspaces import ApiKey, Workspace
from tests.api_support import TIMESTAMP, assert_error
from tests.conftest import ADMIN_TOKEN

ADMIN = {"x-admin-token": ADMIN_TOKEN}


def test_create_returns_the_workspace_and_its_first_key(client):
    result = client.simulate_post(
        "/v1/workspaces", json={"name": "Beta Corp", "slug": "beta-2"}, headers=ADMIN
    )
    assert result.status_code == 201
    data = result.json["data"]
    assert result.json["success"] is True
    assert set(data) == {"id", "name", "slug", "rateLimitPerS", "createdAt", "updatedAt", "apiKey"}
    assert data["rateLimitPerS"] is None
    assert data["id"].startswith("ws_") and data["name"] == "Beta Corp" and data["slug"] == "beta-2"
    assert TIMESTAMP.match(data["createdAt"]) and TIMESTAMP.match(data["updatedAt"])
    key = data["apiKey"]
    assert set(key) == {"id", "name", "key"} and key["key"].startswith("stv_")
    stored = ApiKey.get_by_id(key["id"])
    assert stored.workspace_id == data["id"] and stored.key_hash == hash_key(key["key"])
    current = client.simulate_get("/v1/workspaces/current", headers={"x-api-key": key["key"]})
    assert current.status_code == 200
    assert current.json["data"] == {k: v for k, v in data.items() if k != "apiKey"}


def test_a_duplicate_slug_is_409(client, workspace):
    result = client.simulate_post(
        "/v1/workspaces", json={"name": "Again", "slug": workspace[0].slug}, headers=ADMIN
    )
    assert_error(result, 409, "CONFLICT")
    assert Workspace.select().count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "ok"}, "name"),
        ({"name": "", "slug": "ok"}, "name"),
        ({"name": "x" * 101, "slug": "ok"}, "name"),
        ({"name": 7, "slug": "ok"}, "name"),
        ({"name": "Ok"}, "slug"),
        ({"name": "Ok", "slug": ""}, "slug"),
        ({"name": "Ok", "slug": "Upper"}, "slug"),
        ({"name": "Ok", "slug": "under_score"}, "slug"),
        ({"name": "Ok", "slug": "a" * 51}, "slug"),
        ({"name": "Ok", "slug": "ok", "plan": "pro"}, "plan"),
    ],
)
def test_create_validates_name_and_slug(client, body, field):
    result = client.simulate_post("/v1/workspaces", json=body, headers=ADMIN)
    assert_error(result, 400, "VALIDATION_ERROR", field)
    assert Workspace.select().count() == 0


def test_create_reports_every_bad_field(client):
    result = client.simulate_post(
        "/v1/workspaces", json={"name": "", "slug": "No!", "extra": 1}, headers=ADMIN
    )
    error = assert_error(result, 400, "VALIDATION_ERROR", "name", "slug", "extra")
    assert len(error["details"]["fields"]) == 3


def test_current_is_the_callers_workspace(client, auth, workspace, other_workspace):
    result = client.simulate_get("/v1/workspaces/current", headers=auth)
    assert result.status_code == 200
    assert result.json["data"]["id"] == workspace[0].id
    assert result.json["data"]["slug"] == "acme"
    other = client.simulate_get("/v1/workspaces/current", headers={"x-api-key": other_workspace[1]})
    assert other.json["data"]["id"] == other_workspace[0].id
