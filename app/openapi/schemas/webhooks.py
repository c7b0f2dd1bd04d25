"""The schemas of webhooks and their deliveries."""

from __future__ import annotations

from typing import Any

from app.openapi.builders import TIMESTAMP, id_of, nullable
from models.json_schema import OBJECT, integer, record, text
from models.webhooks import ANNOUNCED, EVENT_NAMES
from models.webhooks import CANCELLED as DELIVERY_CANCELLED
from models.webhooks import FAILED as DELIVERY_FAILED
from models.webhooks import PENDING as DELIVERY_PENDING
from models.webhooks import SUCCEEDED as DELIVERY_SUCCEEDED


def _webhook(with_secret: bool) -> dict[str, Any]:
    properties = {
        "id": id_of("wh"),
        "workspaceId": id_of("ws"),
        "url": text(1, 2048),
        "events": {"type": "array", "items": {"enum": list(EVENT_NAMES)}, "minItems": 1},
        "isActive": {
            "type": "boolean",
            "description": "True until the webhook is deleted: false only in DELETE's answer.",
        },
        "createdAt": TIMESTAMP,
    }
    if with_secret:
        properties["secret"] = {
            "type": "string",
            "pattern": "^whsec_",
            "description": "The HMAC-SHA256 key of `Stevora-Signature`: shown in this answer only.",
        }
    return record(properties)


def _webhook_delivery() -> dict[str, Any]:
    attempt = record(
        {
            "number": integer(1),
            "startedAt": TIMESTAMP,
            "statusCode": nullable(integer()),
            "error": nullable({"type": "string"}),
            "durationMs": nullable(integer(0)),
        }
    )
    states = [DELIVERY_PENDING, DELIVERY_SUCCEEDED, DELIVERY_FAILED, DELIVERY_CANCELLED]
    return record(
        {
            "id": id_of("whd"),
            "webhookId": id_of("wh"),
            "workflowRunId": id_of("wfrun"),
            "eventType": {"enum": list(ANNOUNCED.values())},
            "status": {"enum": states},
            "payload": {**OBJECT, "description": "The JSON body sent, as it is sent."},
            "nextAttemptAt": nullable(TIMESTAMP),
            "completedAt": nullable(TIMESTAMP),
            "createdAt": TIMESTAMP,
            "attempts": {"type": "array", "items": attempt},
        }
    )


def component_schemas() -> dict[str, dict[str, Any]]:
    """`Webhook` (with its secret, once: `NewWebhook`) and `WebhookDelivery`."""
    return {
        "Webhook": _webhook(with_secret=False),
        "NewWebhook": _webhook(with_secret=True),
        "WebhookDelivery": _webhook_delivery(),
    }
