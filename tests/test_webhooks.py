"""Webhooks: the API, the outbox, and deliveries to a real HTTP receiver on 127.0.0.1.

The receiver checks every signature with `models.webhook_signatures.verify`. Loopback targets
need `WEBHOOK_ALLOW_PRIVATE`, which the `webhook_settings` fixture turns on (with a short
backoff) in the modules that read it.
"""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from actors import clock as clock_module
from actors import webhooks as webhook_actor
from models import statuses
from models.base import utcnow
from models.errors import RunConflict
from models.ids import new_id
from models.runs import WorkflowRun
from models.transitions import RunChange
from models.webhook_signatures import verify
from models.webhooks import Webhook, WebhookAttempt, WebhookDelivery
from tests import run_states
from tests.api_support import TIMESTAMP, assert_error, wait_until
from tests.support import change_settings, create_run_over_http, wait_for_run

ALL_EVENTS = [
    "workflow.completed",
    "workflow.failed",
    "workflow.cancelled",
    "approval.requested",
    "approval.decided",
]
WEBHOOK_FIELDS = {"id", "workspaceId", "url", "events", "isActive", "createdAt"}


@pytest.fixture
def webhook_settings(monkeypatch):
    """Settings of the webhook modules, overridden for one test: private targets allowed and
    a 20 ms backoff unless told otherwise. Call the fixture's value to change more."""

    def apply(**overrides):
        change_settings(monkeypatch, **overrides)

    apply(webhook_allow_private=True, webhook_backoff_ms=20)
    return apply


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and whether its signature verified.

    It answers 401 to a bad signature once `secret` is set, else the next of `answers` (200
    once they run out).
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.secret: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._answer(self, body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stevora"

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        signature = handler.headers.get("Stevora-Signature")
        verified = self.secret is not None and verify(self.secret, signature, body)
        with self._lock:
            if self.secret is not None and not verified:
                status = 401
            else:
                status = self.answers.pop(0) if self.answers else 200
            self.requests.append(
                {"headers": dict(handler.headers), "body": json.loads(body), "verified": verified}
            )
        handler.send_response(status)
        if 300 <= status < 400:
            handler.send_header("Location", self.url + "/moved")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def _create(client, auth, url, events=None):
    result = client.simulate_post(
        "/v1/webhooks", headers=auth, json={"url": url, "events": events or ALL_EVENTS}
    )
    assert result.status_code == 201, result.text
    return result.json["data"]


def _subscribe(client, auth, receiver, events=None):
    """A webhook to `receiver`, whose secret the receiver then checks signatures with."""
    webhook = _create(client, auth, receiver.url, events)
    receiver.secret = webhook["secret"]
    return webhook


def _settled(count: int) -> list[WebhookDelivery]:
    """Wait until `count` deliveries exist and none is pending; oldest first."""

    def done():
        rows = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
        if len(rows) == count and all(row.status != "pending" for row in rows):
            return rows
        return None

    return wait_until(done)


def _deliveries(client, auth, webhook_id):
    result = client.simulate_get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth)
    assert result.status_code == 200, result.text
    return result.json


ECHO = {"type": "task", "name": "work", "handler": "echo", "config": {"total": 3}}


# Creating, reading and deleting


def test_create_shows_the_secret_once(client, auth, webhook_settings, receiver):
    data = _create(client, auth, receiver.url, ["workflow.completed", "workflow.failed"])
    assert set(data) == WEBHOOK_FIELDS | {"secret"}
    assert data["id"].startswith("wh_") and data["secret"].startswith("whsec_")
    assert len(data["secret"]) > 40
    assert data["url"] == receiver.url
    assert data["events"] == ["workflow.completed", "workflow.failed"]
    assert TIMESTAMP.match(data["createdAt"]) and data["isActive"] is True

    one = client.simulate_get(f"/v1/webhooks/{data['id']}", headers=auth).json["data"]
    listed = client.simulate_get("/v1/webhooks", headers=auth).json
    assert set(one) == WEBHOOK_FIELDS
    assert one == {k: v for k, v in data.items() if k != "secret"}
    assert listed["data"] == [one]
    assert listed["meta"] == {"page": 1, "pageSize": 20, "total": 1, "totalPages": 1}


def test_list_is_newest_first_and_paginates(client, auth, webhook_settings, receiver):
    ids = [_create(client, auth, receiver.url)["id"] for _ in range(3)]
    page = client.simulate_get("/v1/webhooks", query_string="pageSize=2", headers=auth).json
    assert [w["id"] for w in page["data"]] == ids[::-1][:2]
    assert page["meta"]["total"] == 3 and page["meta"]["totalPages"] == 2
    assert_error(
        client.simulate_get("/v1/webhooks", query_string="pageSize=0", headers=auth),
        400,
        "VALIDATION_ERROR",
        "pageSize",
    )


def test_delete_returns_the_record_and_the_webhook_is_gone(
    client, auth, webhook_settings, receiver
):
    webhook = _create(client, auth, receiver.url)
    deleted = client.simulate_delete(f"/v1/webhooks/{webhook['id']}", headers=auth)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json["data"]["id"] == webhook["id"]
    assert deleted.json["data"]["isActive"] is False
    assert "secret" not in deleted.json["data"]
    for result in (
        client.simulate_get(f"/v1/webhooks/{webhook['id']}", headers=auth),
        client.simulate_delete(f"/v1/webhooks/{webhook['id']}", headers=auth),
        client.simulate_get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=auth),
    ):
        assert_error(result, 404, "NOT_FOUND")
    assert client.simulate_get("/v1/webhooks", headers=auth).json["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["workflow.completed"]}, "url"),
        ({"url": "https://93.184.215.14/hook"}, "events"),
        ({"url": "ftp://93.184.215.14/hook", "events": ["workflow.failed"]}, "url"),
        ({"url": "93.184.215.14/hook", "events": ["workflow.failed"]}, "url"),
        ({"url": "https:///hook", "events": ["workflow.failed"]}, "url"),
        ({"url": "https://u:p@93.184.215.14/", "events": ["workflow.failed"]}, "url"),
        ({"url": "https://93.184.215.14:99999/", "events": ["workflow.failed"]}, "url"),
        ({"url": "https://93.184.215.14/" + "x" * 2048, "events": ["workflow.failed"]}, "url"),
        ({"url": 7, "events": ["workflow.failed"]}, "url"),
        ({"url": "https://93.184.215.14/a b", "events": ["workflow.failed"]}, "url"),
        ({"url": "https://93.184.215.14/", "events": []}, "events"),
        ({"url": "https://93.184.215.14/", "events": "workflow.failed"}, "events"),
        ({"url": "https://93.184.215.14/", "events": ["workflow.started"]}, "events"),
        ({"url": "https://93.184.215.14/", "events": [1]}, "events"),
        ({"url": "https://93.184.215.14/", "events": ["workflow.failed"] * 2}, "events"),
        ({"url": "https://93.184.215.14/", "events": ["workflow.failed"], "x": 1}, "x"),
    ],
)
def test_create_validates_the_url_and_events(client, auth, body, field):
    result = client.simulate_post("/v1/webhooks", headers=auth, json=body)
    assert_error(result, 400, "VALIDATION_ERROR", field)
    assert Webhook.select().count() == 0


def test_a_public_address_is_accepted_without_the_flag(client, auth):
    # An address literal: nothing is resolved, and no run exists, so nothing is ever sent.
    data = _create(client, auth, "https://93.184.215.14/hooks?team=7", ["workflow.failed"])
    assert data["url"] == "https://93.184.215.14/hooks?team=7"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_a_private_target_is_refused_at_creation(client, auth, url):
    error = assert_error(
        client.simulate_post("/v1/webhooks", headers=auth, json={"url": url, "events": ALL_EVENTS}),
        400,
        "VALIDATION_ERROR",
        "url",
    )
    assert "WEBHOOK_ALLOW_PRIVATE" in error["details"]["fields"][0]["message"]
    assert Webhook.select().count() == 0


def test_a_host_that_does_not_resolve_is_refused(client, auth):
    result = client.simulate_post(
        "/v1/webhooks",
        headers=auth,
        json={"url": "https://hooks.stevora.invalid/x", "events": ALL_EVENTS},
    )
    assert_error(result, 400, "VALIDATION_ERROR", "url")


def test_webhooks_need_a_key_and_stay_in_their_workspace(
    client, auth, other_workspace, webhook_settings, receiver
):
    webhook = _create(client, auth, receiver.url)
    other = {"x-api-key": other_workspace[1]}
    assert_error(client.simulate_get("/v1/webhooks"), 401, "AUTH_ERROR")
    assert_error(client.simulate_post("/v1/webhooks", json={}), 401, "AUTH_ERROR")
    for path in (f"/v1/webhooks/{webhook['id']}", f"/v1/webhooks/{webhook['id']}/deliveries"):
        assert_error(client.simulate_get(path, headers=other), 404, "NOT_FOUND")
    assert_error(
        client.simulate_delete(f"/v1/webhooks/{webhook['id']}", headers=other), 404, "NOT_FOUND"
    )
    for bad_id in ("wh_nope", new_id("whd"), new_id("wh")):
        assert_error(client.simulate_get(f"/v1/webhooks/{bad_id}", headers=auth), 404, "NOT_FOUND")
    assert client.simulate_get("/v1/webhooks", headers=other).json["data"] == []
    assert Webhook.get_by_id(webhook["id"]).deleted_at is None


# Deliveries


def test_a_completed_run_is_delivered_once_signed(
    client, auth, worker, clock, webhook_settings, receiver
):
    webhook = _subscribe(client, auth, receiver, ["workflow.completed", "workflow.failed"])
    run_id = create_run_over_http(client, auth, [ECHO])
    wait_for_run(run_id)

    [delivery] = _settled(1)
    assert delivery.status == "succeeded"
    [request] = receiver.requests
    assert request["verified"]
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Stevora-Event"] == "workflow.completed"
    assert headers["Stevora-Delivery"] == delivery.id
    body = request["body"]
    assert body["id"] == delivery.id and body["type"] == "workflow.completed"
    assert TIMESTAMP.match(body["createdAt"])
    data = body["data"]
    assert data["workflowRunId"] == run_id and data["status"] == "COMPLETED"
    assert data["output"] == {"total": 3} and data["eventId"].startswith("evt_")

    log = _deliveries(client, auth, webhook["id"])
    assert log["meta"]["total"] == 1
    [listed] = log["data"]
    assert listed["id"] == delivery.id and listed["status"] == "succeeded"
    assert listed["workflowRunId"] == run_id and listed["eventType"] == "workflow.completed"
    assert listed["payload"] == body and listed["nextAttemptAt"] is None
    assert TIMESTAMP.match(listed["completedAt"])
    [attempt] = listed["attempts"]
    assert attempt["number"] == 1 and attempt["statusCode"] == 200 and attempt["error"] is None
    assert attempt["durationMs"] >= 0 and TIMESTAMP.match(attempt["startedAt"])


def test_failed_and_cancelled_runs_are_announced(
    client, auth, worker, clock, webhook_settings, receiver
):
    _subscribe(client, auth, receiver)
    failing = create_run_over_http(
        client, auth, [{"type": "task", "name": "no", "handler": "refuse"}]
    )
    waiting = create_run_over_http(
        client, auth, [{"type": "wait", "name": "long", "durationMs": 60_000}]
    )
    wait_for_run(failing)
    wait_for_run(waiting, (statuses.WAITING,))
    cancelled = client.simulate_post(f"/v1/workflow-runs/{waiting}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text

    _settled(2)
    bodies = {r["body"]["type"]: r["body"]["data"] for r in receiver.requests}
    assert set(bodies) == {"workflow.failed", "workflow.cancelled"}
    assert all(r["verified"] for r in receiver.requests)
    assert bodies["workflow.failed"]["workflowRunId"] == failing
    assert bodies["workflow.failed"]["status"] == "FAILED"
    assert bodies["workflow.failed"]["error"]["code"] == "TASK_FAILED"
    assert bodies["workflow.cancelled"]["workflowRunId"] == waiting
    assert bodies["workflow.cancelled"]["status"] == "CANCELLED"
    assert bodies["workflow.cancelled"]["previousStatus"] == "WAITING"


def test_an_approval_is_announced_when_requested_and_when_decided(
    client, auth, worker, clock, webhook_settings, receiver
):
    _subscribe(client, auth, receiver, ["approval.requested", "approval.decided"])
    run_id = create_run_over_http(
        client,
        auth,
        [
            {"type": "task", "name": "write", "handler": "echo", "config": {"draft": "v1"}},
            {"type": "approval", "name": "review", "contentKey": "draft", "prompt": "OK?"},
        ],
    )
    wait_for_run(run_id, (statuses.PAUSED,))
    [requested] = _settled(1)
    request_id = json.loads(requested.body)["data"]["approvalRequestId"]
    decided = client.simulate_post(
        f"/v1/approval-requests/{request_id}/decide",
        headers=auth,
        json={"decision": "approved", "decidedBy": "lin"},
    )
    assert decided.status_code == 200, decided.text
    wait_for_run(run_id)

    _settled(2)
    assert [r["body"]["type"] for r in receiver.requests] == [
        "approval.requested",
        "approval.decided",
    ]
    first, second = (r["body"]["data"] for r in receiver.requests)
    assert first["status"] == "PAUSED" and first["stepName"] == "review"
    assert first["approvalRequestId"] == request_id and first["contentKey"] == "draft"
    assert second["status"] == "RUNNING" and second["approvalRequestId"] == request_id
    assert second["decision"] == "approved" and second["decidedBy"] == "lin"
    assert all(r["verified"] for r in receiver.requests)


def test_a_receiver_that_fails_twice_gets_a_third_attempt(
    client, auth, worker, clock, webhook_settings, receiver
):
    webhook = _subscribe(client, auth, receiver, ["workflow.completed"])
    receiver.answers = [500, 500]
    wait_for_run(create_run_over_http(client, auth, [ECHO]))

    [delivery] = _settled(1)
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert len(receiver.requests) == 3 and all(r["verified"] for r in receiver.requests)
    assert len({r["body"]["id"] for r in receiver.requests}) == 1  # one delivery, three tries
    [listed] = _deliveries(client, auth, webhook["id"])["data"]
    attempts = listed["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["statusCode"] for a in attempts] == [500, 500, 200]
    assert [a["error"] for a in attempts] == [
        "the receiver answered 500",
        "the receiver answered 500",
        None,
    ]


def test_a_delivery_fails_after_its_last_attempt(
    client, auth, worker, clock, webhook_settings, receiver
):
    webhook_settings(webhook_max_attempts=3)
    _subscribe(client, auth, receiver, ["workflow.completed"])
    receiver.answers = [503] * 5
    wait_for_run(create_run_over_http(client, auth, [ECHO]))

    [delivery] = _settled(1)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.next_attempt_at is None and delivery.completed_at is not None
    assert len(receiver.requests) == 3


def test_a_target_made_private_is_refused_at_delivery_without_a_request(
    client, auth, worker, clock, webhook_settings, receiver
):
    webhook = _subscribe(client, auth, receiver, ["workflow.completed"])
    webhook_settings(webhook_allow_private=False)
    wait_for_run(create_run_over_http(client, auth, [ECHO]))

    [delivery] = _settled(1)
    assert delivery.status == "failed" and delivery.attempts == 1  # not retried
    assert receiver.requests == []
    [attempt] = _deliveries(client, auth, webhook["id"])["data"][0]["attempts"]
    assert attempt["statusCode"] is None
    assert attempt["error"].startswith("target refused, no request made")
    assert "127.0.0.1, a loopback address" in attempt["error"]


def test_a_deleted_webhook_gets_no_new_deliveries(
    client, auth, worker, clock, webhook_settings, receiver
):
    kept = _subscribe(client, auth, receiver, ["workflow.completed"])
    gone = _create(client, auth, receiver.url, ["workflow.completed"])
    assert client.simulate_delete(f"/v1/webhooks/{gone['id']}", headers=auth).status_code == 200
    wait_for_run(create_run_over_http(client, auth, [ECHO]))

    [delivery] = _settled(1)
    assert delivery.webhook_id == kept["id"]
    assert len(receiver.requests) == 1


# The outbox and the actor's fence (no worker: the actor's function is called directly)


def test_a_delivery_is_written_with_its_event_or_not_at_all(
    client, auth, workspace, webhook_settings, receiver
):
    _subscribe(client, auth, receiver)
    run, step_run = run_states.running(workspace[0])
    stale = RunChange(WorkflowRun.get_by_id(run.id))
    RunChange(run).move_step(step_run, statuses.COMPLETED, "STEP_COMPLETED").move(
        statuses.COMPLETED, "WORKFLOW_COMPLETED", output={}
    ).commit()
    assert WebhookDelivery.select().count() == 1

    stale.move(statuses.CANCELLED, "WORKFLOW_CANCELLED", {"previousStatus": "RUNNING"})
    with pytest.raises(RunConflict):
        stale.commit()
    assert [d.event_type for d in WebhookDelivery.select()] == ["workflow.completed"]


def test_only_subscribed_events_of_the_workspace_are_queued(
    client, auth, workspace, other_workspace, webhook_settings, receiver
):
    _create(client, auth, receiver.url, ["workflow.failed"])
    _create(client, {"x-api-key": other_workspace[1]}, receiver.url, ["workflow.completed"])
    run_states.completed(workspace[0])
    assert WebhookDelivery.select().count() == 0


def test_an_attempt_is_made_once_however_often_its_command_comes(
    client, auth, workspace, webhook_settings, receiver
):
    _subscribe(client, auth, receiver)
    run_states.completed(workspace[0])
    [delivery] = WebhookDelivery.select()

    webhook_actor.deliver_webhook.fn(delivery.id, 1)
    webhook_actor.deliver_webhook.fn(delivery.id, 1)
    webhook_actor.deliver_webhook.fn(delivery.id, 2)
    webhook_actor.deliver_webhook.fn(delivery.id, 3)

    assert len(receiver.requests) == 1
    stored = WebhookDelivery.get_by_id(delivery.id)
    assert (stored.status, stored.attempts) == ("succeeded", 1)
    assert WebhookAttempt.select().count() == 1


def test_attempts_that_never_finished_count_towards_the_limit(
    client, auth, workspace, webhook_settings, receiver
):
    webhook_settings(webhook_max_attempts=2)
    _subscribe(client, auth, receiver)
    run_states.completed(workspace[0])
    [delivery] = WebhookDelivery.select()
    # Two workers died mid-attempt: the clock, once their lease ran out, asks for a third.
    WebhookDelivery.update(attempts=2).execute()

    webhook_actor.deliver_webhook.fn(delivery.id, 3)

    assert receiver.requests == []
    stored = WebhookDelivery.get_by_id(delivery.id)
    assert (stored.status, stored.attempts) == ("failed", 2)


def test_a_redirect_is_not_followed(client, auth, workspace, webhook_settings, receiver):
    webhook_settings(webhook_max_attempts=1)
    _subscribe(client, auth, receiver)
    receiver.answers = [302]
    run_states.completed(workspace[0])
    [delivery] = WebhookDelivery.select()

    webhook_actor.deliver_webhook.fn(delivery.id, 1)

    assert len(receiver.requests) == 1
    assert WebhookDelivery.get_by_id(delivery.id).status == "failed"
    [attempt] = WebhookAttempt.select()
    assert attempt.status_code == 302 and "redirects are not followed" in attempt.error


def test_an_unreachable_receiver_is_retried_later(client, auth, workspace, webhook_settings):
    webhook_settings(webhook_backoff_ms=60_000)
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens on that port any more
    _create(client, auth, url, ["workflow.completed"])
    run_states.completed(workspace[0])
    [delivery] = WebhookDelivery.select()

    webhook_actor.deliver_webhook.fn(delivery.id, 1)

    stored = WebhookDelivery.get_by_id(delivery.id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert 50 <= (stored.next_attempt_at - stored.created_at).total_seconds() <= 75
    [attempt] = WebhookAttempt.select()
    assert attempt.status_code is None and attempt.error.startswith("ConnectError")


def test_deleting_a_webhook_cancels_its_pending_deliveries(
    client, auth, workspace, webhook_settings, receiver
):
    webhook = _subscribe(client, auth, receiver)
    run_states.completed(workspace[0])
    client.simulate_delete(f"/v1/webhooks/{webhook['id']}", headers=auth)
    [delivery] = WebhookDelivery.select()
    assert delivery.status == "cancelled" and delivery.next_attempt_at is None

    webhook_actor.deliver_webhook.fn(delivery.id, 1)
    assert receiver.requests == []


def test_a_delivery_whose_webhook_went_meanwhile_is_cancelled_not_sent(
    client, auth, workspace, webhook_settings, receiver
):
    webhook = _subscribe(client, auth, receiver)
    run_states.completed(workspace[0])
    # The delete raced the transition: the delivery was written after the delete looked.
    Webhook.update(deleted_at=utcnow()).where(Webhook.id == webhook["id"]).execute()
    [delivery] = WebhookDelivery.select()

    webhook_actor.deliver_webhook.fn(delivery.id, 1)

    assert receiver.requests == []
    stored = WebhookDelivery.get_by_id(delivery.id)
    assert (stored.status, stored.attempts) == ("cancelled", 0)


def test_the_clock_claims_due_deliveries_and_wakes_for_the_next(
    client, auth, workspace, webhook_settings, receiver
):
    _subscribe(client, auth, receiver)
    run_states.completed(workspace[0])
    [delivery] = WebhookDelivery.select()

    commands = webhook_actor.due_deliveries()
    assert commands == [webhook_actor.DeliveryCommand(delivery.id, 1)]
    assert webhook_actor.due_deliveries() == []  # pushed one redrive interval ahead

    soon = utcnow() + datetime.timedelta(milliseconds=200)
    WebhookDelivery.update(next_attempt_at=soon).execute()
    assert clock_module.pause(1.0) <= 0.2
