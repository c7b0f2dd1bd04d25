"""The paths of webhooks and their deliveries."""

from __future__ import annotations

from typing import Any

from app.openapi.errors import KEYED
from app.openapi.parameters import PAGE, PAGE_SIZE, path_id
from app.openapi.paths.operation import json_answer, one, operation, page


def path_items() -> dict[str, dict[str, Any]]:
    """Subscribing, listing, reading and deleting webhooks, and their deliveries."""
    webhook_id = path_id("webhook_id", "wh", "webhook")
    return {
        "/v1/webhooks": {
            "post": operation(
                "createWebhook",
                "Subscribe a URL to events; the signing secret is shown once. 409 when the"
                " workspace has 20 webhooks already.",
                "Webhooks",
                {201: json_answer(one("NewWebhook"), "The webhook, with its secret.")},
                (400, 409, *KEYED),
                body="CreateWebhook",
            ),
            "get": operation(
                "listWebhooks",
                "The workspace's webhooks, newest first; deleted ones are not listed.",
                "Webhooks",
                {200: json_answer(page("Webhook"), "A page of webhooks.")},
                (400, *KEYED),
                parameters=(PAGE, PAGE_SIZE),
            ),
        },
        "/v1/webhooks/{webhook_id}": {
            "get": operation(
                "getWebhook",
                "One webhook, without its secret.",
                "Webhooks",
                {200: json_answer(one("Webhook"), "The webhook.")},
                (404, *KEYED),
                parameters=(webhook_id,),
            ),
            "delete": operation(
                "deleteWebhook",
                "Delete a webhook; its pending deliveries are cancelled. 404 from then on.",
                "Webhooks",
                {200: json_answer(one("Webhook"), "The webhook, isActive false.")},
                (404, *KEYED),
                parameters=(webhook_id,),
            ),
        },
        "/v1/webhooks/{webhook_id}/deliveries": {
            "get": operation(
                "listWebhookDeliveries",
                "The webhook's deliveries, newest first, each with its attempts.",
                "Webhooks",
                {200: json_answer(page("WebhookDelivery"), "A page of deliveries.")},
                (400, 404, *KEYED),
                parameters=(webhook_id, PAGE, PAGE_SIZE),
            )
        },
    }
