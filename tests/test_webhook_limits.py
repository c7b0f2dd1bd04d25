"""A workspace has at most 20 webhooks (SPEC section 5), even when creates race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from models.db import db
from models.webhooks import MAX_WEBHOOKS, Webhook
from tests.api_support import assert_error, wait_until

#: A public address: the URL check resolves it without DNS and never connects.
URL = "https://93.184.215.14/hooks"
BODY = {"url": URL, "events": ["workflow.completed"]}

_WAITING_ON_LOCKS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


def _waiting_on_locks() -> int:
    """Other sessions of this database waiting for a lock, read afresh (not the snapshot
    statistics views keep for a transaction)."""
    db.execute_sql("SELECT pg_stat_clear_snapshot()")
    return db.execute_sql(_WAITING_ON_LOCKS).fetchone()[0]


def _create(client, auth):
    return client.simulate_post("/v1/webhooks", headers=auth, json=BODY)


def _fill(client, auth, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        result = _create(client, auth)
        assert result.status_code == 201, result.text
        ids.append(result.json["data"]["id"])
    return ids


def _active(workspace) -> int:
    return (
        Webhook.select()
        .where((Webhook.workspace == workspace.id) & Webhook.deleted_at.is_null())
        .count()
    )


def test_the_twenty_first_webhook_is_409_and_not_stored(client, auth, workspace):
    _fill(client, auth, MAX_WEBHOOKS)

    error = assert_error(_create(client, auth), 409, "CONFLICT")

    assert "at most 20 webhooks" in error["message"]
    assert _active(workspace[0]) == MAX_WEBHOOKS
    listed = client.simulate_get("/v1/webhooks", headers=auth, params={"pageSize": 100})
    assert listed.json["meta"]["total"] == MAX_WEBHOOKS


def test_a_deleted_webhook_frees_its_place_and_other_workspaces_have_their_own(
    client, auth, workspace, other_workspace
):
    ids = _fill(client, auth, MAX_WEBHOOKS)
    others = {"x-api-key": other_workspace[1]}

    assert _create(client, others).status_code == 201
    assert client.simulate_delete(f"/v1/webhooks/{ids[0]}", headers=auth).status_code == 200
    assert _create(client, auth).status_code == 201
    assert_error(_create(client, auth), 409, "CONFLICT")
    assert _active(workspace[0]) == MAX_WEBHOOKS
    assert Webhook.select().count() == MAX_WEBHOOKS + 2  # the deleted one and the other's


def test_two_creates_racing_at_nineteen_let_one_through(client, auth, workspace):
    """Both creates are held at their insert (the test locks the table) until both have begun;
    had they counted before either inserted, both would pass."""
    _fill(client, auth, MAX_WEBHOOKS - 1)

    with ThreadPoolExecutor(2) as pool:
        with db.atomic():
            db.execute_sql("LOCK TABLE webhook IN SHARE MODE")
            racing = [pool.submit(_create, client, auth) for _ in range(2)]
            wait_until(lambda: _waiting_on_locks() == 2, timeout=10)
        results = [future.result(timeout=10) for future in racing]

    assert sorted(result.status_code for result in results) == [201, 409]
    assert_error(next(r for r in results if r.status_code == 409), 409, "CONFLICT")
    assert _active(workspace[0]) == MAX_WEBHOOKS


def test_many_creates_at_once_stop_at_the_limit(client, auth, workspace):
    start = threading.Barrier(30)

    def create():
        start.wait(timeout=10)
        return _create(client, auth).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(lambda _: create(), range(30)))

    assert sorted(codes) == [201] * MAX_WEBHOOKS + [409] * 10
    assert _active(workspace[0]) == MAX_WEBHOOKS
