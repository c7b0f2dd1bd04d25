"""Every error is the envelope: Falcon's own, malformed bodies, limits, bugs, outages."""

from __future__ import annotations

import io
import json
import logging

import falcon
import falcon.testing
import psycopg2
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from app.auth import Access
from app.factory import create_app
from app.media import MAX_BODY_BYTES
from models.config import current
from models.db import connect_params, db
from models.errors import IllegalTransition, RunConflict
from tests.api_support import assert_error, definition_body
from tests.conftest import TEST_DATABASE_URL

#: Nothing listens here: a real broker client that cannot connect.
DEAD_BROKER_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


def test_unknown_route_is_a_404_envelope(client, auth):
    assert_error(client.simulate_get("/nope"), 404, "NOT_FOUND")
    assert_error(client.simulate_get("/v1/nope", headers=auth), 404, "NOT_FOUND")
    assert_error(client.simulate_post("/v1/workflow-runs/x/cancel", headers=auth), 404, "NOT_FOUND")


def test_wrong_method_is_a_405_envelope(client, auth):
    result = client.simulate_delete("/v1/workflow-definitions", headers=auth)
    assert_error(result, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in result.headers["Allow"] and "POST" in result.headers["Allow"]


def test_malformed_json_is_400(client, auth):
    result = client.simulate_post(
        "/v1/workflow-definitions",
        body='{"name": "x",',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_error(result, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    ["", "  ", "[1, 2]", '"text"', "null", '{"a": NaN}', '{"a": "nul \\u0000"}', b"\xff\xfe{}"],
)
def test_missing_or_non_object_body_is_400(client, auth, body):
    result = client.simulate_post(
        "/v1/api-keys", body=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(result, 400, "VALIDATION_ERROR")


def test_post_without_any_body_is_400(client, auth):
    assert_error(client.simulate_post("/v1/api-keys", headers=auth), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(client, auth, content_type):
    headers = dict(auth)
    if content_type:
        headers["Content-Type"] = content_type
    result = client.simulate_post("/v1/api-keys", body='{"name": "x"}', headers=headers)
    assert_error(result, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_a_charset_is_accepted(client, auth):
    result = client.simulate_post(
        "/v1/api-keys",
        body='{"name": "x"}',
        headers={**auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert result.status_code == 201, result.text


def test_a_body_over_one_mebibyte_is_413(client, auth):
    padding = "x" * (MAX_BODY_BYTES + 1)
    result = client.simulate_post(
        "/v1/workflow-definitions",
        json=definition_body(description=padding),
        headers=auth,
    )
    assert_error(result, 413, "PAYLOAD_TOO_LARGE")


def _call_without_length(app: falcon.App, headers: dict, body: bytes) -> tuple[str, dict]:
    """A request whose body has no Content-Length (chunked), as gunicorn presents it."""
    environ = falcon.testing.create_environ(
        method="POST", path="/v1/api-keys", headers={**headers, "Transfer-Encoding": "chunked"}
    )
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    start = falcon.testing.StartResponseMock()
    chunks = app(environ, start)
    return start.status, json.loads(b"".join(chunks))


def test_a_body_without_length_is_read_up_to_the_limit(auth):
    app = create_app(current())
    headers = {**auth, "Content-Type": "application/json"}
    big = json.dumps({"name": "x" * (MAX_BODY_BYTES + 10)}).encode()
    status, body = _call_without_length(app, headers, big)
    assert status.startswith("413")
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    status, body = _call_without_length(app, headers, b'{"name": "chunked"}')
    assert status.startswith("201")
    assert body["data"]["name"] == "chunked"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=ten", "pageSize"),
    ],
)
def test_bad_pagination_is_400(client, auth, query, field):
    for path in ("/v1/workflow-definitions", "/v1/workflow-runs", "/v1/api-keys"):
        result = client.simulate_get(path, query_string=query, headers=auth)
        assert_error(result, 400, "VALIDATION_ERROR", field)


class _Broken:
    access = Access.PUBLIC

    def on_get(self, req, resp):
        raise RuntimeError("secret internals /etc/passwd")


def test_a_bug_is_a_500_envelope_without_a_stack_trace(caplog):
    app = create_app(current())
    app.add_route("/broken", _Broken())
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        result = falcon.testing.TestClient(app).simulate_get("/broken")
    error = assert_error(result, 500, "INTERNAL_ERROR")
    assert "secret" not in result.text and "Traceback" not in result.text
    assert "details" not in error
    assert any(
        "secret internals" in record.exc_text for record in caplog.records if record.exc_text
    )


class _Stale:
    access = Access.PUBLIC

    def on_post(self, req, resp):
        raise IllegalTransition("run", "COMPLETED", "CANCELLED")

    def on_put(self, req, resp):
        raise RunConflict("run wfrun_x is no longer at version 3")


def test_state_machine_refusals_are_409():
    app = create_app(current())
    app.add_route("/stale", _Stale())
    client = falcon.testing.TestClient(app)
    error = assert_error(client.simulate_post("/stale"), 409, "CONFLICT")
    assert error["message"] == "run cannot move from COMPLETED to CANCELLED"
    assert_error(client.simulate_put("/stale"), 409, "CONFLICT")


def test_a_lost_database_connection_is_503(client, auth):
    # Given the connection this thread (and so the app) uses is killed by the server
    pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    admin = psycopg2.connect(**connect_params(TEST_DATABASE_URL))
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()
    # When a request needs the database, then it is 503, in the envelope
    result = client.simulate_get("/v1/workspaces/current", headers=auth)
    assert_error(result, 503, "SERVICE_UNAVAILABLE")
    # And a fresh connection works again
    db.close()
    db.connect()
    assert client.simulate_get("/v1/workspaces/current", headers=auth).status_code == 200


def test_health_reports_ok_without_auth(client):
    result = client.simulate_get("/health")
    assert result.status_code == 200
    assert result.json == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


def test_health_is_degraded_when_the_broker_is_unreachable():
    app = create_app(current(), broker=RabbitmqBroker(url=DEAD_BROKER_URL))
    result = falcon.testing.TestClient(app).simulate_get("/health")
    assert result.status_code == 503
    assert result.json["status"] == "degraded"
    assert result.json["checks"]["database"] == "ok"
    assert result.json["checks"]["queue"].startswith("error: ")
