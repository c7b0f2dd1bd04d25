"""The request bodies of the OpenAPI document, as the resources check them."""

from __future__ import annotations

from typing import Any

from actors.steps.fields import MAX_DURATION_MS
from app.openapi.builders import id_of
from app.openapi.schemas.workspaces import rate_limit_per_s
from app.resources.schedules import MAX_CRON_LENGTH, MAX_TIMEZONE_LENGTH
from app.resources.workspaces import SLUG
from models.approvals import APPROVED, EDITED, REJECTED
from models.documents import MAX_DOCUMENT_BYTES
from models.fire_times import MIN_INTERVAL_MS
from models.json_schema import OBJECT, integer, record, ref, text
from models.schedules import OVERLAPS, SKIP
from models.webhooks import EVENT_NAMES


def request_schemas() -> dict[str, dict[str, Any]]:
    """The schemas of request bodies. Unknown members are refused (400) everywhere."""
    decided_by = text(1, 200)
    return {
        "CreateWorkspace": record(
            {"name": text(1, 100), "slug": {**text(1, 50), "pattern": f"^{SLUG.pattern}$"}}
        ),
        "UpdateWorkspace": record({"rateLimitPerS": rate_limit_per_s()}),
        "CreateApiKey": record({"name": text(1, 100)}),
        "CreateWorkflowDefinition": record(
            {
                "name": text(1, 200),
                "version": text(1, 50),
                "description": text(0, 1000),
                "steps": {"type": "array", "items": ref("Step"), "minItems": 1, "maxItems": 500},
                "concurrency": ref("Concurrency"),
            },
            optional=("description", "concurrency"),
        ),
        "CreateWorkflowRun": record(
            {
                "definitionId": {
                    **id_of("wfdef"),
                    "description": "A definition of this workspace; another id is 404.",
                },
                "input": {
                    **OBJECT,
                    "default": {},
                    "description": f"At most {MAX_DOCUMENT_BYTES} bytes as JSON.",
                },
                "idempotencyKey": {
                    **text(1, 255),
                    "description": "A key used before in this workspace answers 200 with "
                    "that run, whatever the rest of the body says.",
                },
            },
            optional=("input", "idempotencyKey"),
        ),
        "RerunWorkflowRun": record(
            {
                "fromStep": {
                    **text(1, 100),
                    "description": "A step of the run's definition that the run entered (a "
                    "step it skipped does not count); the rerun starts there.",
                },
                "input": {
                    **OBJECT,
                    "description": "The rerun's input; the original's when absent. "
                    f"At most {MAX_DOCUMENT_BYTES} bytes as JSON.",
                },
                "state": {
                    **OBJECT,
                    "default": {},
                    "description": "Shallow-merged into the state the run had when it last "
                    f"entered fromStep. The result at most {MAX_DOCUMENT_BYTES} bytes as JSON.",
                },
                "idempotencyKey": {
                    **text(1, 255),
                    "description": "As for a create: a key used before in this workspace "
                    "answers 200 with that run.",
                },
            },
            optional=("input", "state", "idempotencyKey"),
        ),
        "ResumeWorkflowRun": record(
            {
                "signalType": text(1, 200),
                "payload": {
                    **OBJECT,
                    "default": {},
                    "description": f"Merged into state. At most {MAX_DOCUMENT_BYTES} bytes.",
                },
            },
            optional=("payload",),
        ),
        "Decision": {
            "oneOf": [
                record(
                    {
                        "decision": {"enum": [APPROVED, REJECTED]},
                        "editedContent": {
                            "description": "Accepted and ignored (null too): only edited "
                            "replaces the content.",
                        },
                        "decidedBy": decided_by,
                    },
                    optional=("editedContent", "decidedBy"),
                ),
                record(
                    {
                        "decision": {"const": EDITED},
                        "editedContent": {
                            "not": {"type": "null"},
                            "description": "Replaces state[contentKey]. "
                            f"At most {MAX_DOCUMENT_BYTES} bytes as JSON.",
                        },
                        "decidedBy": decided_by,
                    },
                    optional=("decidedBy",),
                ),
            ]
        },
        "CreateWebhook": record(
            {
                "url": {
                    **text(1, 2048),
                    "format": "uri",
                    "description": "http(s); a host that resolves to a private or loopback "
                    "address is refused unless WEBHOOK_ALLOW_PRIVATE=1.",
                },
                "events": {
                    "type": "array",
                    "items": {"enum": list(EVENT_NAMES)},
                    "minItems": 1,
                    "uniqueItems": True,
                },
            }
        ),
        "CreateSchedule": _create_schedule(),
        "NoFields": {
            "type": "object",
            "maxProperties": 0,
            "description": "No body, or `{}`.",
        },
    }


def _create_schedule() -> dict[str, Any]:
    """Exactly one of `cron` and `intervalMs`."""
    schema = record(
        {
            "definitionId": {
                **id_of("wfdef"),
                "description": "A definition of this workspace; another id is 400.",
            },
            "cron": {
                **text(1, MAX_CRON_LENGTH),
                "description": "Five fields (minute, hour, day of month, month, day of week) "
                "in croniter's syntax, read in `timezone`.",
            },
            "intervalMs": {
                **integer(MIN_INTERVAL_MS, MAX_DURATION_MS),
                "description": "Fire every this many ms, the first one interval after creation.",
            },
            "timezone": {
                **text(1, MAX_TIMEZONE_LENGTH),
                "default": "UTC",
                "description": "An IANA time zone name (`Europe/Berlin`); the cron's zone.",
            },
            "input": {
                **OBJECT,
                "default": {},
                "description": f"Every run's input. At most {MAX_DOCUMENT_BYTES} bytes as JSON.",
            },
            "overlap": {
                "enum": list(OVERLAPS),
                "default": SKIP,
                "description": "`skip`: a fire starts nothing while the previous run is not "
                "final; `allow`: it starts its run anyway.",
            },
        },
        optional=("cron", "intervalMs", "timezone", "input", "overlap"),
    )
    schema["oneOf"] = [{"required": ["cron"]}, {"required": ["intervalMs"]}]
    return schema
