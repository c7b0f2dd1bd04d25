"""POST/GET /v1/api-keys and DELETE /v1/api-keys/:id."""

from __future__ import annotations

import pytest

from models.keys import hash_key
from models.workspaces import ApiKey
from tests.api_support import TIMESTAMP, assert_error


def _issue(client, auth, name="ci"):
    result = client.simulate_post("/v1/api-keys", json={"name": name}, headers=auth)
    assert result.status_code == 201, result.text
    return result.json["data"]


def test_create_shows_the_raw_key_once_and_stores_its_hash(client, auth, workspace):
    data = _issue(client, auth, "deploy bot")
    assert set(data) == {"id", "workspaceId", "name", "key", "createdAt"}
    assert data["id"].startswith("key_") and data["workspaceId"] == workspace[0].id
    assert data["name"] == "deploy bot" and TIMESTAMP.match(data["createdAt"])
    stored = ApiKey.get_by_id(data["id"])
    assert stored.key_hash == hash_key(data["key"]) and data["key"] not in stored.key_hash
    me = client.simulate_get("/v1/workspaces/current", headers={"x-api-key": data["key"]})
    assert me.json["data"]["id"] == workspace[0].id


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": None}])
def test_create_needs_a_name(client, auth, body):
    assert_error(
        client.simulate_post("/v1/api-keys", json=body, headers=auth),
        400,
        "VALIDATION_ERROR",
        "name",
    )


def test_create_refuses_unknown_fields(client, auth):
    result = client.simulate_post(
        "/v1/api-keys", json={"name": "x", "scopes": ["all"]}, headers=auth
    )
    assert_error(result, 400, "VALIDATION_ERROR", "scopes")


def test_list_shows_no_secret_and_is_newest_first(client, auth):
    first, second = _issue(client, auth, "one"), _issue(client, auth, "two")
    result = client.simulate_get("/v1/api-keys", headers=auth)
    assert result.status_code == 200
    data = result.json["data"]
    assert [k["id"] for k in data] == [second["id"], first["id"], data[2]["id"]]
    assert data[2]["name"] == "default"
    for key in data:
        assert set(key) == {"id", "workspaceId", "name", "lastUsedAt", "revokedAt", "createdAt"}
        assert key["revokedAt"] is None
    assert first["key"] not in result.text and hash_key(first["key"]) not in result.text
    # The default key made this call, so it has been used.
    assert TIMESTAMP.match(data[2]["lastUsedAt"]) and data[0]["lastUsedAt"] is None
    assert result.json["meta"] == {"page": 1, "pageSize": 1000, "total": 3, "totalPages": 1}


def test_list_paginates(client, auth):
    for n in range(4):
        _issue(client, auth, f"k{n}")
    page = client.simulate_get("/v1/api-keys", query_string="page=2&pageSize=2", headers=auth)
    assert page.json["meta"] == {"page": 2, "pageSize": 2, "total": 5, "totalPages": 3}
    assert [k["name"] for k in page.json["data"]] == ["k1", "k0"]
    beyond = client.simulate_get("/v1/api-keys", query_string="page=9&pageSize=2", headers=auth)
    assert beyond.status_code == 200 and beyond.json["data"] == []


def test_revoke_returns_the_record_and_locks_the_key_out(client, auth):
    spare = _issue(client, auth, "spare")
    result = client.simulate_delete(f"/v1/api-keys/{spare['id']}", headers=auth)
    assert result.status_code == 200
    data = result.json["data"]
    assert data["id"] == spare["id"] and TIMESTAMP.match(data["revokedAt"])
    assert "key" not in data
    denied = client.simulate_get("/v1/workspaces/current", headers={"x-api-key": spare["key"]})
    assert_error(denied, 401, "AUTH_ERROR")
    listed = client.simulate_get("/v1/api-keys", headers=auth).json["data"]
    assert next(k for k in listed if k["id"] == spare["id"])["revokedAt"] == data["revokedAt"]


def test_revoking_twice_is_idempotent(client, auth):
    spare = _issue(client, auth, "spare")
    first = client.simulate_delete(f"/v1/api-keys/{spare['id']}", headers=auth)
    again = client.simulate_delete(f"/v1/api-keys/{spare['id']}", headers=auth)
    assert again.status_code == 200
    assert again.json["data"]["revokedAt"] == first.json["data"]["revokedAt"]


def test_a_key_may_revoke_itself(client, auth, workspace):
    own = ApiKey.get(ApiKey.workspace == workspace[0].id)
    assert client.simulate_delete(f"/v1/api-keys/{own.id}", headers=auth).status_code == 200
    assert_error(client.simulate_get("/v1/api-keys", headers=auth), 401, "AUTH_ERROR")


def test_revoking_an_unknown_key_is_404(client, auth):
    missing = "key_" + "0" * 26
    assert_error(client.simulate_delete(f"/v1/api-keys/{missing}", headers=auth), 404, "NOT_FOUND")
