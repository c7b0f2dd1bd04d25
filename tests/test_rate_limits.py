"""Rate limits per workspace (SPEC section 9), through the real stack: the app in-process on
the suite's database, and two gunicorn processes sharing one limit.

The suite's own default is so high that no other test meets it (`tests/conftest.py`); each
test here builds an app at the default it wants or sets the workspace's own limit.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
from collections import Counter

import falcon.testing
import psycopg2
import pytest
import requests

import models.rate_limits
from app.auth import Access
from app.factory import create_app
from app.rate_limits import is_exempt
from harness.processes import WEB, ProcessFailed, free_port, spawn, stop, wait_healthy
from models.config import Settings, current
from models.db import connect_params
from models.ids import new_id
from models.keys import create_workspace
from models.rate_limits import RateLimitBucket, set_rate_limit, take_token
from models.workspaces import Workspace
from tests.api_support import assert_error
from tests.conftest import ADMIN_TOKEN, TEST_BROKER_URL, TEST_DATABASE_URL

ADMIN = {"x-admin-token": ADMIN_TOKEN}
CURRENT = "/v1/workspaces/current"


def _client(per_s: int) -> falcon.testing.TestClient:
    """A client of the app whose workspaces have `per_s` requests a second by default."""
    return falcon.testing.TestClient(
        create_app(dataclasses.replace(current(), rate_limit_per_s=per_s))
    )


def _statuses(client, auth: dict, n: int) -> list[int]:
    return [client.simulate_get(CURRENT, headers=auth).status_code for _ in range(n)]


# Over the limit.


def test_a_burst_over_the_limit_is_429_with_retry_after_and_the_envelope(auth):
    # Given workspaces of 5 requests a second, in bursts of 10
    client = _client(5)

    # When one sends 12 at once
    statuses = _statuses(client, auth, 10)
    refused = client.simulate_get(CURRENT, headers=auth)

    # Then the first 10 are answered and the rest refused, saying when to come back
    assert statuses == [200] * 10
    error = assert_error(refused, 429, "RATE_LIMIT_ERROR")
    assert refused.headers["retry-after"] == "1"
    assert error["details"] == {"rateLimitPerS": 5, "retryAfter": 1}
    assert "5 requests per second" in error["message"]
    assert client.simulate_get(CURRENT, headers=auth).status_code == 429


def test_requests_let_through_are_the_burst_and_the_rate_times_the_time_taken(auth):
    # Given workspaces of 20 requests a second, in bursts of 40
    client = _client(20)

    # When one calls as fast as it can for a second and a half
    let_through, started = 0, time.monotonic()
    while time.monotonic() - started < 1.5:
        last = time.monotonic()
        let_through += client.simulate_get(CURRENT, headers=auth).status_code == 200

    # Then it got its burst and 20 a second since its first call, give or take a token
    expected = 40 + 20 * (last - started)
    assert expected - 2 <= let_through <= expected + 1, (let_through, expected)


def test_a_refusal_takes_no_token(auth, workspace):
    # Given a bucket emptied at 1 a second (a burst of 2)
    client = _client(1)
    assert _statuses(client, auth, 3) == [200, 200, 429]

    # When it is refused many times within the second
    _statuses(client, auth, 20)

    # Then a token is back a second after the first refusal, all the same (asked through
    # another app: this one remembers its refusal by its own clock, which was not moved)
    _backdate(workspace[0].id, seconds=1)
    assert _statuses(_client(1), auth, 2) == [200, 429]


def _backdate(workspace_id: str, seconds: float) -> None:
    """Move the bucket's last refill `seconds` back, as if that much time had passed."""
    RateLimitBucket.update(
        refilled_at=RateLimitBucket.refilled_at - datetime.timedelta(seconds=seconds)
    ).where(RateLimitBucket.workspace == workspace_id).execute()


# The bucket itself.


def test_a_bucket_starts_full_refills_at_its_rate_and_holds_at_most_its_burst(workspace):
    ws = workspace[0].id
    # A new bucket of 5 a second holds 10
    assert [take_token(ws, 5).granted for _ in range(11)] == [True] * 10 + [False]
    refused = take_token(ws, 5)
    assert 0.1 < refused.wait <= 0.2  # (1 - tokens) / rate: a token is 0.2 s at most away
    # A second later it has gained 5
    _backdate(ws, 1)
    assert [take_token(ws, 5).granted for _ in range(6)] == [True] * 5 + [False]
    # A minute later it is full again, not fuller
    _backdate(ws, 60)
    assert [take_token(ws, 5).granted for _ in range(11)] == [True] * 10 + [False]


def test_a_bucket_goes_with_its_workspace(workspace):
    take_token(workspace[0].id, 5)
    bucket = RateLimitBucket.get_by_id(workspace[0].id)
    assert bucket.tokens == 9 and bucket.granted is True
    Workspace.delete().where(Workspace.id == workspace[0].id).execute()
    assert RateLimitBucket.select().count() == 0


# The operator's limit.


def test_patch_sets_the_workspaces_own_limit_and_null_gives_the_default_again(
    client, auth, workspace
):
    # Given a workspace on the suite's default
    path = f"/v1/workspaces/{workspace[0].id}"
    assert client.simulate_get(CURRENT, headers=auth).json["data"]["rateLimitPerS"] is None

    # When the operator gives it 1 a second
    changed = client.simulate_patch(path, json={"rateLimitPerS": 1}, headers=ADMIN)

    # Then that is its limit from its next request on
    assert changed.status_code == 200, changed.text
    assert changed.json["data"]["rateLimitPerS"] == 1
    assert changed.json["data"]["updatedAt"] > changed.json["data"]["createdAt"]
    assert _statuses(client, auth, 3) == [200, 200, 429]
    assert client.simulate_get("/v1/api-keys", headers=auth).status_code == 429

    # And null gives it the default again at once, the refusal this process remembered too
    back = client.simulate_patch(path, json={"rateLimitPerS": None}, headers=ADMIN)
    assert back.status_code == 200 and back.json["data"]["rateLimitPerS"] is None
    assert _statuses(client, auth, 3) == [200, 200, 200]
    assert Workspace.get_by_id(workspace[0].id).rate_limit_per_s is None


def test_a_workspaces_own_limit_wins_over_the_default(auth, workspace, other_workspace):
    # Given a default of 1 a second, and a workspace of 50 a second of its own
    client = _client(1)
    set_rate_limit(workspace[0].id, 50)
    # Then it has its burst of 100, while the other has the default's 2
    assert _statuses(client, auth, 60) == [200] * 60
    assert _statuses(client, {"x-api-key": other_workspace[1]}, 3) == [200, 200, 429]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rateLimitPerS"),
        ({"rateLimitPerS": 0}, "rateLimitPerS"),
        ({"rateLimitPerS": -5}, "rateLimitPerS"),
        ({"rateLimitPerS": 100_001}, "rateLimitPerS"),
        ({"rateLimitPerS": 2.5}, "rateLimitPerS"),
        ({"rateLimitPerS": 10.0}, "rateLimitPerS"),
        ({"rateLimitPerS": "10"}, "rateLimitPerS"),
        ({"rateLimitPerS": True}, "rateLimitPerS"),
        ({"rateLimitPerS": 10, "retention": 1}, "retention"),
    ],
)
def test_patch_refuses_a_limit_that_is_not_a_whole_number_in_range(client, workspace, body, field):
    result = client.simulate_patch(f"/v1/workspaces/{workspace[0].id}", json=body, headers=ADMIN)
    assert_error(result, 400, "VALIDATION_ERROR", field)
    assert Workspace.get_by_id(workspace[0].id).rate_limit_per_s is None


def test_patch_takes_the_bounds_themselves(client, workspace):
    path = f"/v1/workspaces/{workspace[0].id}"
    for per_s in (1, 100_000):
        result = client.simulate_patch(path, json={"rateLimitPerS": per_s}, headers=ADMIN)
        assert result.status_code == 200 and result.json["data"]["rateLimitPerS"] == per_s


def test_patch_refuses_a_body_that_is_not_an_object(client, workspace):
    path = f"/v1/workspaces/{workspace[0].id}"
    for body in (b"[1]", b"5", b"{"):
        result = client.simulate_patch(
            path, body=body, headers={**ADMIN, "content-type": "application/json"}
        )
        assert_error(result, 400, "VALIDATION_ERROR")


def test_patch_of_no_such_workspace_is_404(client):
    for workspace_id in (new_id("ws"), "ws_nope", new_id("key"), "current-ish"):
        result = client.simulate_patch(
            f"/v1/workspaces/{workspace_id}", json={"rateLimitPerS": 5}, headers=ADMIN
        )
        assert_error(result, 404, "NOT_FOUND")


def test_patch_takes_the_admin_token_and_nothing_else(client, auth, workspace):
    path = f"/v1/workspaces/{workspace[0].id}"
    for headers in ({}, {"x-admin-token": "wrong"}, {"x-admin-token": ""}, auth):
        result = client.simulate_patch(path, json={"rateLimitPerS": 1}, headers=headers)
        assert_error(result, 401, "AUTH_ERROR")
    assert Workspace.get_by_id(workspace[0].id).rate_limit_per_s is None
    disabled = falcon.testing.TestClient(
        create_app(dataclasses.replace(current(), admin_token=None))
    )
    result = disabled.simulate_patch(path, json={"rateLimitPerS": 1}, headers=ADMIN)
    assert_error(result, 401, "AUTH_ERROR")


# What is not counted.


class _KeyedStatic:
    """A keyed resource where the dashboard's static files will be."""

    access = Access.API_KEY

    def on_get(self, req, resp, name):
        resp.media = {"name": name}


def test_the_health_check_the_document_and_static_files_are_not_counted(auth, workspace):
    # Given a bucket of 2 (1 a second), and a keyed route under /ui/static/
    app = create_app(dataclasses.replace(current(), rate_limit_per_s=1))
    app.add_route("/ui/static/{name}", _KeyedStatic())
    client = falcon.testing.TestClient(app)

    # When the workspace's key calls what is exempt, many times
    for _ in range(5):
        assert client.simulate_get("/health", headers=auth).status_code == 200
        assert client.simulate_get("/v1/openapi.json", headers=auth).status_code == 200
        assert client.simulate_get("/ui/static/app.js", headers=auth).status_code == 200

    # Then its bucket was never touched, and still holds its burst
    assert RateLimitBucket.select().count() == 0
    assert _statuses(client, auth, 3) == [200, 200, 429]
    assert client.simulate_get("/ui/static/app.css", headers=auth).status_code == 200
    assert client.simulate_get("/health").status_code == 200


def test_the_exemptions_are_by_path_and_by_prefix():
    assert is_exempt("/health") and is_exempt("/v1/openapi.json")
    assert is_exempt("/ui/static/app.js") and is_exempt("/ui/static/css/a.css")
    assert not is_exempt("/ui/") and not is_exempt("/health/x") and not is_exempt("/ui/statics")
    assert not is_exempt("/v1/workspaces/current")


def test_creating_and_changing_workspaces_is_not_counted(client, workspace):
    # The admin's calls act for no workspace: a limit of 1 refuses none of them
    set_rate_limit(workspace[0].id, 1)
    path = f"/v1/workspaces/{workspace[0].id}"
    for _ in range(5):
        result = client.simulate_patch(path, json={"rateLimitPerS": 1}, headers=ADMIN)
        assert result.status_code == 200
    assert RateLimitBucket.select().count() == 0


def test_zero_turns_rate_limits_off(auth, workspace):
    set_rate_limit(workspace[0].id, 1)
    assert _statuses(_client(0), auth, 5) == [200] * 5
    assert RateLimitBucket.select().count() == 0


def test_the_default_is_100_a_second_and_may_not_be_negative(monkeypatch):
    monkeypatch.delenv("STEVORA_RATE_LIMIT_PER_S")
    assert Settings.from_env().rate_limit_per_s == 100
    monkeypatch.setenv("STEVORA_RATE_LIMIT_PER_S", "0")
    assert Settings.from_env().rate_limit_per_s == 0
    monkeypatch.setenv("STEVORA_RATE_LIMIT_PER_S", "-1")
    with pytest.raises(ValueError, match="STEVORA_RATE_LIMIT_PER_S"):
        Settings.from_env()


# One workspace against another.


def test_a_flooding_workspace_does_not_limit_another(auth, workspace, other_workspace):
    # Given workspaces of 10 a second (bursts of 20), one of them flooding from two threads
    client = _client(10)
    flood = Counter()
    stop_flood = threading.Event()

    def flooding():
        while not stop_flood.is_set():
            flood[client.simulate_get(CURRENT, headers=auth).status_code] += 1

    threads = [threading.Thread(target=flooding) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # When the other calls within its limit meanwhile
        other = {"x-api-key": other_workspace[1]}
        answers = []
        for _ in range(15):
            answers.append(client.simulate_get(CURRENT, headers=other).status_code)
            time.sleep(0.05)
    finally:
        stop_flood.set()
        for thread in threads:
            thread.join()

    # Then the flood is refused and the other is not
    assert flood[429] > 0 and flood[200] <= 20 + 10 * 2
    assert answers == [200] * 15


def test_a_flood_costs_the_database_about_two_statements_per_token(auth, monkeypatch):
    # Given a spy on the bucket's statement, and workspaces of 10 a second
    takes = []
    real = models.rate_limits.take_token

    def counting(workspace_id, per_s):
        takes.append(workspace_id)
        return real(workspace_id, per_s)

    monkeypatch.setattr("app.rate_limits.take_token", counting)
    client = _client(10)

    # When a workspace calls as fast as it can for a second
    answers, started = Counter(), time.monotonic()
    while time.monotonic() - started < 1:
        answers[client.simulate_get(CURRENT, headers=auth).status_code] += 1

    # Then most refusals came from this process's memory of the last one: the bucket was
    # asked once per request let through, and about once more per token it earned
    assert answers[429] > 5 * len(takes), (answers, len(takes))
    assert len(takes) <= answers[200] + 10 * 1.5 + 2, (answers, len(takes))


def test_a_workspace_never_waits_on_anothers_bucket(auth, workspace, other_workspace):
    # Given a bucket row of the first workspace locked by another connection (as a flood's
    # statements hold it, one at a time)
    client = _client(10)
    assert client.simulate_get(CURRENT, headers=auth).status_code == 200
    holder = psycopg2.connect(**_psycopg_params())
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM rate_limit_bucket WHERE workspace_id = %s FOR UPDATE",
                (workspace[0].id,),
            )
        blocked = []
        thread = threading.Thread(
            target=lambda: blocked.append(client.simulate_get(CURRENT, headers=auth).status_code)
        )
        thread.start()

        # When the other workspace calls
        started = time.monotonic()
        other = client.simulate_get(CURRENT, headers={"x-api-key": other_workspace[1]})
        took = time.monotonic() - started

        # Then it is answered at once, while the first waits on its own row
        assert other.status_code == 200 and took < 1
        thread.join(timeout=0.5)
        assert thread.is_alive() and blocked == []
    finally:
        holder.rollback()
        holder.close()
    thread.join(timeout=10)
    assert blocked == [200]


def _psycopg_params() -> dict:
    params = connect_params(TEST_DATABASE_URL)
    params["dbname"] = params.pop("database")
    return params


# Two processes, one limit.


@pytest.fixture
def two_web_processes(tmp_path):
    """Two gunicorn processes on the suite's database, each its own port; yields their URLs."""
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": TEST_BROKER_URL,
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "4",
    }
    urls, processes, logs = [], [], []
    try:
        for n in range(2):
            port = free_port()
            logs.append(tmp_path / f"web-{n}.log")
            processes.append(spawn(WEB, {**env, "PORT": str(port)}, logs[-1]))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            try:
                wait_healthy(url, processes, logs)
            except ProcessFailed as exc:
                pytest.fail(str(exc))
        yield urls
    finally:
        for process in processes:
            stop(process)


def _hammer(urls: list[str], key: str, seconds: float, threads_per_url: int) -> tuple:
    """Call every URL from its own threads for `seconds`; the answers by (url, status), the
    `Retry-After` values seen, and the seconds from the first call to the last answer."""
    answers, retry_afters, lock = Counter(), Counter(), threading.Lock()
    started = time.monotonic()
    finished = [started]

    def calling(url: str) -> None:
        session = requests.Session()
        session.headers["x-api-key"] = key
        while time.monotonic() - started < seconds:
            result = session.get(f"{url}{CURRENT}", timeout=10)
            with lock:
                answers[url, result.status_code] += 1
                if result.status_code == 429:
                    retry_afters[result.headers.get("retry-after")] += 1
                finished.append(time.monotonic())

    threads = [
        threading.Thread(target=calling, args=(url,))
        for url in urls
        for _ in range(threads_per_url)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, retry_afters, max(finished) - started


def test_two_processes_share_one_limit(two_web_processes):
    # Given two gunicorn processes, and a workspace limited to 20 a second through one of them
    first, second = two_web_processes
    ws, _, key = create_workspace("Shared", "shared")
    limited = requests.patch(
        f"{first}/v1/workspaces/{ws.id}", json={"rateLimitPerS": 20}, headers=ADMIN, timeout=10
    )
    assert limited.status_code == 200, limited.text

    # When the workspace calls both as fast as it can for two seconds
    answers, retry_afters, elapsed = _hammer([first, second], key, 2.0, threads_per_url=2)

    # Then both processes let some through and refused some, and together they let through
    # one bucket's worth (a burst of 40 and 20 a second), not one each
    let_through = answers[first, 200] + answers[second, 200]
    expected = 40 + 20 * elapsed
    assert expected - 4 <= let_through <= expected + 1, (answers, elapsed)
    for url in (first, second):
        assert answers[url, 200] > 0 and answers[url, 429] > 0, answers
    assert set(answers) <= {(first, 200), (first, 429), (second, 200), (second, 429)}
    assert set(retry_afters) == {"1"}
