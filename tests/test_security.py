"""Who gets in, what they may send, and what is never written down.

The route-by-route checks (no key, a wrong key, a revoked key: 401; another workspace's ids:
404, the same answer as for ids that exist nowhere) are in `tests/test_auth.py`, over every
route of the app's router. A broker signal naming another workspace's run is dead-lettered
and touches no run: `tests/test_broker_signals.py`,
`test_a_signal_naming_a_run_of_another_workspace_is_dead_lettered`. Here: how keys are compared
and kept out of logs, and bodies refused before they reach the database.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
import time

import falcon.testing
import peewee
import pytest

import app.auth
import models.keys
import models.rate_limits
from app.factory import create_app
from app.media import MAX_BODY_BYTES, MAX_JSON_DEPTH
from app.resources.runs import Runs
from models import TABLES, prepared
from models.base import database_clock
from models.config import current
from models.db import db
from models.documents import nests_deeper_than
from models.keys import hash_key
from tests.api_support import api_routes, assert_error, create_definition

#: Every route that takes a body and an API key, from the app's router.
BODY_ROUTES = [
    route
    for route in api_routes(create_app(current()))
    if route.method in ("POST", "PUT", "PATCH") and route.access is app.auth.Access.API_KEY
]


@pytest.fixture
def statements(monkeypatch):
    """Every SQL statement the test's thread runs from now on, as (sql, params).

    The clock's sync with the database (a read, at most every 30 s, in whichever request
    comes first) is put off until the test is over, so that it falls in no test's count.
    """
    monkeypatch.setattr(database_clock, "_synced_at", time.monotonic())
    seen: list[tuple[str, tuple]] = []
    execute = db.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        seen.append((sql, tuple(params or ())))
        return execute(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", recording)
    return seen


def _row_counts() -> dict[str, int]:
    return {table.__name__: table.select().count() for table in TABLES}


def _only_authentication(seen: list[tuple[str, tuple]]) -> bool:
    """True when every statement is the API key lookup (or its last-used stamp), or the
    workspace's rate limit taking its token (prepared on the connection's first request)."""
    take = prepared.statement_name(models.rate_limits._TAKE_TOKEN)
    return all(
        sql == models.keys._KEY_BY_HASH
        or sql.startswith('UPDATE "api_key" SET "last_used_at"')
        or sql.startswith((f"PREPARE {take} ", f"EXECUTE {take} "))
        for sql, _ in seen
    )


# Keys: looked up by digest, compared in constant time, never logged.


def test_the_database_sees_only_a_keys_digest_and_the_digests_are_compared_in_constant_time(
    client, auth, statements, monkeypatch
):
    # Given a spy on the comparison the authenticator uses
    compared = []
    compare_digest = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(app.auth.hmac, "compare_digest", spy)
    raw = auth["x-api-key"]
    # One character off at the end: a key sharing all but the last character with a real one
    near_miss = raw[:-1] + ("A" if raw[-1] != "A" else "B")

    # When a request comes with the right key, then with the near miss
    assert client.simulate_get("/v1/workspaces/current", headers=auth).status_code == 200
    found = len(statements)
    assert_error(
        client.simulate_get("/v1/workspaces/current", headers={"x-api-key": near_miss}),
        401,
        "AUTH_ERROR",
    )

    # Then the key is found by its SHA-256 digest, never by its text (an index lookup on a hash
    # learns an attacker nothing about a prefix), and the stored digest is compared to it with
    # hmac.compare_digest
    lookups = [params for sql, params in statements if sql == models.keys._KEY_BY_HASH]
    assert lookups == [(hash_key(raw),), (hash_key(near_miss),)]
    for sql, params in statements:
        assert raw not in sql and near_miss not in sql
        assert raw not in map(str, params) and near_miss not in map(str, params)
    assert compared == [(hash_key(raw), hash_key(raw))]
    # The near miss took the same single lookup, and no comparison: nothing matched its digest
    assert len(statements) - found == 1


def test_the_admin_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []
    compare_digest = hmac.compare_digest
    monkeypatch.setattr(
        app.auth.hmac, "compare_digest", lambda a, b: compared.append(1) or compare_digest(a, b)
    )
    result = client.simulate_post(
        "/v1/workspaces", json={"name": "X", "slug": "x"}, headers={"x-admin-token": "guess"}
    )
    assert_error(result, 401, "AUTH_ERROR")
    assert compared == [1]


def test_raw_keys_are_in_no_log_record_or_answer_even_when_a_request_fails(
    client, auth, other_workspace, monkeypatch, caplog
):
    # Given a revoked key, another workspace's key, a wrong one, and routes that fail in every
    # way the API knows (a bug, the database gone)
    spare = client.simulate_post("/v1/api-keys", json={"name": "doomed"}, headers=auth).json
    revoked = spare["data"]["key"]
    client.simulate_delete(f"/v1/api-keys/{spare['data']['id']}", headers=auth)
    keys = [auth["x-api-key"], revoked, other_workspace[1], "stv_a-wrong-key-that-is-leaked"]
    definition = create_definition(client, auth)["id"]

    def bug(self, req, resp, **params):
        raise RuntimeError("a bug")

    def database_gone(self, req, resp, **params):
        raise peewee.OperationalError("server closed the connection unexpectedly")

    # When each key calls, with everything logged
    answers = []
    with caplog.at_level(logging.DEBUG):
        for key in keys:
            headers = {"x-api-key": key}
            answers += [
                client.simulate_get("/v1/workspaces/current", headers=headers),
                client.simulate_get(f"/v1/workflow-definitions/{definition}", headers=headers),
                client.simulate_post(
                    "/v1/workflow-runs",
                    body="{",
                    headers={**headers, "Content-Type": "application/json"},
                ),
                client.simulate_get("/v1/workflow-runs/wfrun_nope", headers=headers),
            ]
        for responder in (bug, database_gone):
            # Falcon binds responders when a route is added: a new app sees the patch
            monkeypatch.setattr(Runs, "on_get", responder)
            failing = falcon.testing.TestClient(create_app(current()))
            answers.append(failing.simulate_get("/v1/workflow-runs", headers=auth))

    # Then every failure was answered and logged, and no key is in any record or answer
    assert {answer.status_code for answer in answers} >= {200, 400, 401, 404, 500, 503}
    assert any(record.exc_info for record in caplog.records), "the bug was not logged"
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for key in keys:
        assert key not in logged
        assert all(key not in answer.text for answer in answers)


# Bodies: too large or too deep, refused before they reach the database.


@pytest.mark.parametrize("route", BODY_ROUTES, ids=str)
def test_a_body_over_the_limit_is_413_before_any_statement(client, auth, route, statements):
    before = _row_counts()
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    path = re.sub(r"{\w+}", "x", route.template)
    headers = {**auth, "Content-Type": "application/json"}

    # With a Content-Length: refused from the headers, before authentication even
    statements.clear()
    with_length = client.simulate_request(route.method, path, body=body, headers=headers)
    assert_error(with_length, 413, "PAYLOAD_TOO_LARGE")
    assert statements == []

    # Streamed without one (chunked): refused once a byte past the limit is read
    chunked = client.simulate_request(
        route.method,
        path,
        headers={**headers, "Transfer-Encoding": "chunked"},
        extras={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert_error(chunked, 413, "PAYLOAD_TOO_LARGE")
    assert _only_authentication(statements), statements
    assert _row_counts() == before


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000, 400_000])
def test_json_nested_too_deep_is_400_before_any_statement_but_authentication(
    client, auth, statements, depth
):
    # Given an authenticated client (its key's last use already stamped)
    definition = create_definition(client, auth)["id"]
    before = _row_counts()
    statements.clear()

    # When it sends a run input nested deeper than the limit (400,000 levels: under 1 MiB)
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    body = f'{{"definitionId": "{definition}", "input": {{"deep": {nested}}}}}'
    result = client.simulate_post(
        "/v1/workflow-runs", body=body, headers={**auth, "Content-Type": "application/json"}
    )

    # Then it is refused as invalid, with nothing but the key lookup run, and nothing written
    error = assert_error(result, 400, "VALIDATION_ERROR")
    assert str(MAX_JSON_DEPTH) in error["message"]
    assert _only_authentication(statements), statements
    assert _row_counts() == before


def test_json_nested_to_the_limit_is_taken(client, auth):
    definition = create_definition(client, auth)["id"]
    # The body is an object, its input another, so the input's value nests 62 levels more
    deep = json.loads("[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2))
    body = {"definitionId": definition, "input": {"deep": deep}}
    result = client.simulate_post("/v1/workflow-runs", json=body, headers=auth)
    assert result.status_code == 201, result.text
    assert result.json["data"]["input"] == {"deep": deep}


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("[" * 65 + "]" * 65, True),
        ("[" * 64 + "]" * 64, False),
        (json.dumps({"a": "[" * 1000, "b": "{{{" * 100}), False),
        (json.dumps({"a": '"\\[' * 500}), False),
        (json.dumps([[1] * 10] * 10_000), False),
        ('{"a": ' * 65 + "1" + "}" * 65, True),
        ("[" * 65, True),
    ],
)
def test_nesting_is_counted_outside_strings(text, deeper):
    assert nests_deeper_than(text, 64) is deeper
