"""Webhooks (SPEC section 7): POST/GET /v1/webhooks, GET/DELETE /:id, GET /:id/deliveries.

The secret is in the answer to POST only. A workspace has at most 20 webhooks
(`models.webhooks.MAX_WEBHOOKS`); one more is 409. A webhook is active (`isActive`) until it
is deleted; a deleted one is gone from the API (404), does not count towards that limit, and
gets no new deliveries; its pending ones are cancelled. Only the answer to DELETE shows a
webhook inactive.
"""

from __future__ import annotations

from typing import Any

import falcon

from actors.webhook_targets import MAX_URL_LENGTH, TargetRefused, TargetUnresolved, resolve
from app import serializers
from app.lookup import find_in_workspace
from app.media import read_object
from app.pagination import Page, paginate
from models.validation import Fields, Problems
from models.webhooks import (
    EVENT_NAMES,
    Webhook,
    attempts_of_deliveries,
    create_webhook,
    delete_webhook,
    deliveries_of_webhook,
    webhook_in_workspace,
    webhooks_of_workspace,
)

CREATE_FIELDS = ("url", "events")


class Webhooks:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """201 with the webhook and its secret, which is never shown again; 409 at the limit."""
        url, events = _read_webhook(read_object(req))
        webhook = create_webhook(req.context.workspace.id, url, events)
        resp.status = falcon.HTTP_201
        resp.media = {
            "success": True,
            "data": {**serializers.webhook(webhook), "secret": webhook.secret},
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Newest first; deleted webhooks are not listed."""
        problems = Problems()
        page = Page.from_request(req, problems)
        problems.raise_if_any()
        query = webhooks_of_workspace(req.context.workspace.id)
        resp.media = paginate(query, page, serializers.webhook)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        resp.media = {"success": True, "data": serializers.webhook(_find(req, webhook_id))}

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        """200 with the record, `isActive` false; the webhook is 404 from then on."""
        webhook = delete_webhook(_find(req, webhook_id))
        resp.media = {"success": True, "data": serializers.webhook(webhook)}

    def on_get_deliveries(
        self, req: falcon.Request, resp: falcon.Response, webhook_id: str
    ) -> None:
        """Newest first, each with its attempts, oldest first."""
        problems = Problems()
        page = Page.from_request(req, problems)
        problems.raise_if_any()
        webhook = _find(req, webhook_id)
        body = paginate(deliveries_of_webhook(webhook.id), page, serializers.webhook_delivery)
        attempts = attempts_of_deliveries([delivery["id"] for delivery in body["data"]])
        for delivery in body["data"]:
            delivery["attempts"] = [
                serializers.webhook_attempt(attempt) for attempt in attempts.get(delivery["id"], [])
            ]
        resp.media = body


def _read_webhook(body: dict[str, Any]) -> tuple[str, list[str]]:
    """`(url, events)`, checked; the URL's host resolved and refused if it is not public."""
    problems = Problems()
    fields = Fields(problems, body)
    fields.only(CREATE_FIELDS)
    url = fields.string("url", max_length=MAX_URL_LENGTH)
    events = _read_events(fields)
    if url is not None:
        try:
            resolve(url)
        except (TargetRefused, TargetUnresolved) as exc:
            fields.add("url", str(exc))
    problems.raise_if_any()
    return url, events


def _read_events(fields: Fields) -> list[str] | None:
    events = fields.obj.get("events")
    if "events" not in fields.obj:
        fields.add("events", "is required")
    elif not isinstance(events, list) or not events:
        fields.add("events", "must be a non-empty list of event names")
    elif not all(isinstance(event, str) and event in EVENT_NAMES for event in events):
        fields.add("events", "must name only " + ", ".join(EVENT_NAMES))
    elif len(set(events)) != len(events):
        fields.add("events", "must not name an event twice")
    else:
        return events
    return None


def _find(req: falcon.Request, webhook_id: str) -> Webhook:
    return find_in_workspace(
        webhook_in_workspace, "wh", webhook_id, req.context.workspace, "webhook"
    )
