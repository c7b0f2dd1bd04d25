"""Webhooks: the endpoints a workspace subscribes, the outbox of deliveries owed to them, and
the attempts of each delivery.

A delivery is written in the transaction that records the run event it announces
(`models.transitions` calls `outbox_write`), so an event that commits is announced and one
that does not is not. Its JSON body is frozen then, byte for byte: every attempt sends the same
body, signed afresh. The secret is stored as it is: signing needs the key itself, unlike an API
key, which is only ever checked against its digest.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import peewee

from models.base import BaseModel, iso_utc, utcnow
from models.db import db
from models.errors import StevoraError
from models.ids import new_id
from models.runs import WorkflowRun
from models.workspaces import Workspace

SECRET_PREFIX = "whsec_"
#: Webhooks a workspace may have at once; deleted ones do not count (SPEC section 5).
MAX_WEBHOOKS = 20

#: The run events announced by webhooks, each with the name a webhook subscribes to.
ANNOUNCED = {
    "WORKFLOW_COMPLETED": "workflow.completed",
    "WORKFLOW_FAILED": "workflow.failed",
    "WORKFLOW_CANCELLED": "workflow.cancelled",
    "APPROVAL_REQUESTED": "approval.requested",
    "APPROVAL_DECIDED": "approval.decided",
}
#: The event names a webhook may subscribe to (SPEC section 7).
EVENT_NAMES = tuple(ANNOUNCED.values())

# A delivery's status. Only a pending delivery is ever attempted.
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
#: Its webhook was deleted before the delivery was done.
CANCELLED = "cancelled"


class TooManyWebhooks(StevoraError):
    """The workspace has `MAX_WEBHOOKS` webhooks already: a new one is a conflict (409)."""


class Webhook(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    url = peewee.CharField(max_length=2048)
    #: The event names subscribed to, a non-empty list of `EVENT_NAMES`.
    events = peewee.JSONField()
    #: `whsec_...`: the HMAC key of the signatures; shown once, when the webhook is created.
    secret = peewee.CharField(max_length=100)
    created_at = peewee.DateTimeField(default=utcnow)
    #: Set by DELETE: the webhook is gone from the API and gets no new deliveries.
    deleted_at = peewee.DateTimeField(null=True)


class WebhookDelivery(BaseModel):
    webhook = peewee.ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    run = peewee.ForeignKeyField(WorkflowRun, on_delete="CASCADE")
    #: The event name, `workflow.completed` ...
    event_type = peewee.CharField(max_length=40)
    #: The JSON document sent, exactly as it is sent.
    body = peewee.TextField()
    status = peewee.CharField(max_length=20)
    #: Attempts started so far: the fence of `deliver_webhook(delivery_id, attempt)`.
    attempts = peewee.IntegerField(default=0)
    #: When the clock sends the next attempt; None once the delivery is done.
    next_attempt_at = peewee.DateTimeField(null=True)
    completed_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


class WebhookAttempt(peewee.Model):
    """One POST of a delivery; the outcome columns stay empty while it is in flight (or if
    its worker died during it)."""

    delivery = peewee.ForeignKeyField(WebhookDelivery, backref="attempt_log", on_delete="CASCADE")
    number = peewee.IntegerField()
    started_at = peewee.DateTimeField()
    #: The HTTP status the receiver answered; None when there was no answer.
    status_code = peewee.IntegerField(null=True)
    #: Why the attempt failed (a non-2xx answer, a timeout, a refused target); None on success.
    error = peewee.TextField(null=True)
    duration_ms = peewee.IntegerField(null=True)

    class Meta:
        database = db
        legacy_table_names = False
        primary_key = peewee.CompositeKey("delivery", "number")


def create_webhook(workspace_id: str, url: str, events: list[str]) -> Webhook:
    """A new webhook with a fresh secret (`webhook.secret`, to be shown once).

    Raises `TooManyWebhooks` when the workspace has `MAX_WEBHOOKS` already. The workspace row
    is locked before counting, in the insert's transaction: two creates at once count one
    after the other, so neither slips past the limit. `NO KEY UPDATE` leaves the row's key
    free, so rows that refer to the workspace (runs...) are inserted meanwhile.
    """
    with db.atomic():
        Workspace.select(Workspace.id).where(Workspace.id == workspace_id).for_update(
            "FOR NO KEY UPDATE"
        ).execute()
        active = (
            Webhook.select()
            .where((Webhook.workspace == workspace_id) & Webhook.deleted_at.is_null())
            .count()
        )
        if active >= MAX_WEBHOOKS:
            raise TooManyWebhooks(
                f"a workspace has at most {MAX_WEBHOOKS} webhooks; delete one before"
                " creating another"
            )
        return Webhook.create(
            id=new_id("wh"),
            workspace=workspace_id,
            url=url,
            events=events,
            secret=SECRET_PREFIX + secrets.token_urlsafe(32),
            created_at=utcnow(),
        )


def webhook_in_workspace(workspace_id: str, webhook_id: str) -> Webhook | None:
    """The webhook with this id in the workspace, unless deleted; None when it has none."""
    return (
        Webhook.select()
        .where(Webhook.deleted_at.is_null())
        .where((Webhook.id == webhook_id) & (Webhook.workspace == workspace_id))
        .first()
    )


def webhooks_of_workspace(workspace_id: str) -> peewee.ModelSelect:
    """The workspace's webhooks but deleted ones, unexecuted, newest first (by `id`)."""
    return (
        Webhook.select()
        .where((Webhook.workspace == workspace_id) & Webhook.deleted_at.is_null())
        .order_by(Webhook.id.desc())
    )


def deliveries_of_webhook(webhook_id: str) -> peewee.ModelSelect:
    """A webhook's deliveries, unexecuted, newest first (by `id`)."""
    return (
        WebhookDelivery.select()
        .where(WebhookDelivery.webhook == webhook_id)
        .order_by(WebhookDelivery.id.desc())
    )


def attempts_of_deliveries(delivery_ids: list[str]) -> dict[str, list[WebhookAttempt]]:
    """Delivery id -> its attempts, oldest first (by `number`), in one query; deliveries
    without attempts are left out."""
    attempts: dict[str, list[WebhookAttempt]] = {}
    if not delivery_ids:
        return attempts
    rows = (
        WebhookAttempt.select()
        .where(WebhookAttempt.delivery.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery, WebhookAttempt.number)
    )
    for row in rows:
        attempts.setdefault(row.delivery_id, []).append(row)
    return attempts


def delete_webhook(webhook: Webhook) -> Webhook:
    """Mark the webhook deleted and cancel its pending deliveries, in one transaction."""
    now = utcnow()
    with db.atomic():
        Webhook.update(deleted_at=now).where(
            (Webhook.id == webhook.id) & Webhook.deleted_at.is_null()
        ).execute()
        WebhookDelivery.update(status=CANCELLED, next_attempt_at=None, completed_at=now).where(
            (WebhookDelivery.webhook == webhook.id) & (WebhookDelivery.status == PENDING)
        ).execute()
    webhook.deleted_at = now
    return webhook


def outbox_write(
    run: WorkflowRun, status: str, events: Iterable[dict[str, Any]], output: Any = None
) -> Callable[[], None]:
    """The write that queues a delivery of each of `events` to each subscribed webhook.

    `events` are the announced events of one run change (rows of `run_event` about to be
    written), `status` the run's status after it and `output` its output if it completed.
    The write runs inside that change's transaction.
    """
    events = list(events)

    def write() -> None:
        hooks = db.execute_sql(_ACTIVE, (run.workspace_id,)).fetchall()
        rows = [
            _delivery(hook_id, run, status, event, output)
            for event in events
            for hook_id, subscribed in hooks
            if ANNOUNCED[event["event_type"]] in subscribed
        ]
        if rows:
            WebhookDelivery.insert_many(rows).execute()

    return write


_ACTIVE = "SELECT id, events FROM webhook WHERE workspace_id = %s AND deleted_at IS NULL"


def _delivery(
    webhook_id: str, run: WorkflowRun, status: str, event: dict[str, Any], output: Any
) -> dict[str, Any]:
    delivery_id = new_id("whd")
    name = ANNOUNCED[event["event_type"]]
    data = {
        "workflowRunId": run.id,
        "workflowDefinitionId": run.definition_id,
        "status": status,
        "eventId": event["id"],
        **event["payload"],
    }
    if event["event_type"] == "WORKFLOW_COMPLETED":
        data["output"] = output
    body = {
        "id": delivery_id,
        "type": name,
        "createdAt": iso_utc(event["created_at"]),
        "data": data,
    }
    return {
        "id": delivery_id,
        "webhook": webhook_id,
        "run": run.id,
        "event_type": name,
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": event["created_at"],
        "created_at": event["created_at"],
    }


# Deliveries, attempt by attempt (`actors.webhooks`). The fence of attempt A is the delivery
# still pending with A - 1 attempts made: a repeated or late command for it changes nothing.

_CLAIM_DUE = """
WITH due AS (
    SELECT id FROM webhook_delivery
    WHERE status = 'pending' AND next_attempt_at <= %s
    ORDER BY next_attempt_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_delivery AS d SET next_attempt_at = %s
FROM due WHERE d.id = due.id
RETURNING d.id, d.attempts
"""

_LOCK = """
SELECT d.attempts, d.event_type, d.body, w.url, w.secret, w.deleted_at
FROM webhook_delivery AS d JOIN webhook AS w ON w.id = d.webhook_id
WHERE d.id = %s AND d.status = 'pending'
FOR UPDATE OF d
"""


@dataclass(frozen=True)
class StartedAttempt:
    """An attempt counted and logged as started: what its POST sends, and where."""

    delivery_id: str
    attempt: int
    event_type: str
    body: str
    url: str
    secret: str


def claim_due_deliveries(
    now: datetime.datetime, limit: int, lease_until: datetime.datetime
) -> list[tuple[str, int]]:
    """Claim up to `limit` pending deliveries due at `now`, pushing each to `lease_until`:
    each one's id and the attempts made so far."""
    return db.execute_sql(_CLAIM_DUE, (now, limit, lease_until)).fetchall()


def start_attempt(
    delivery_id: str, attempt: int, max_attempts: int, lease: datetime.timedelta
) -> StartedAttempt | None:
    """Count attempt `attempt` of a delivery and log it as started, leased for `lease`; None
    when the fence says it is not due.

    A delivery whose webhook was deleted meanwhile is cancelled instead, and one past
    `max_attempts` (its last attempts never recorded an outcome) failed.
    """
    now = utcnow()
    with db.atomic():
        row = db.execute_sql(_LOCK, (delivery_id,)).fetchone()
        if row is None or row[0] != attempt - 1:
            return None  # done, cancelled, or this attempt was taken already
        _, event_type, body, url, secret, deleted_at = row
        if deleted_at is not None:
            # Its webhook was deleted while the delivery was being written.
            _finish(delivery_id, attempt - 1, CANCELLED, now)
            return None
        if attempt > max_attempts:
            # The last attempts never recorded an outcome (their workers died).
            _finish(delivery_id, attempt - 1, FAILED, now)
            return None
        WebhookDelivery.update(attempts=attempt, next_attempt_at=now + lease).where(
            WebhookDelivery.id == delivery_id
        ).execute()
        WebhookAttempt.insert(delivery=delivery_id, number=attempt, started_at=now).execute()
    return StartedAttempt(delivery_id, attempt, event_type, body, url, secret)


def record_outcome(
    started: StartedAttempt,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    retry_in: datetime.timedelta | None,
) -> None:
    """Log an attempt's outcome and settle its delivery: succeeded when there is no `error`,
    else due again in `retry_in`, or failed when that is None."""
    now = utcnow()
    with db.atomic():
        WebhookAttempt.update(status_code=status_code, error=error, duration_ms=duration_ms).where(
            (WebhookAttempt.delivery == started.delivery_id)
            & (WebhookAttempt.number == started.attempt)
        ).execute()
        if error is None:
            _finish(started.delivery_id, started.attempt, SUCCEEDED, now)
        elif retry_in is not None:
            WebhookDelivery.update(next_attempt_at=now + retry_in).where(
                _still_at(started.delivery_id, started.attempt)
            ).execute()
        else:
            _finish(started.delivery_id, started.attempt, FAILED, now)


def _finish(delivery_id: str, attempts: int, status: str, now: datetime.datetime) -> None:
    WebhookDelivery.update(status=status, next_attempt_at=None, completed_at=now).where(
        _still_at(delivery_id, attempts)
    ).execute()


def _still_at(delivery_id: str, attempts: int) -> peewee.Expression:
    """The delivery, while still pending at that attempt (not cancelled, not taken on)."""
    return (
        (WebhookDelivery.id == delivery_id)
        & (WebhookDelivery.status == PENDING)
        & (WebhookDelivery.attempts == attempts)
    )
