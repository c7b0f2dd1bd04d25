"""The component schemas of the OpenAPI document: each resource exactly as the API writes it,
one module per resource.

Answers are `additionalProperties: false` with every field required, so a field added to a
serializer and not here (or the reverse) fails `tests/test_openapi.py`. Free-form documents
(a run's input and state, event payloads) are `{}`: any JSON value.
"""

from __future__ import annotations

from typing import Any

from app.openapi.schemas import (
    approvals,
    costs,
    definitions,
    envelopes,
    run_batches,
    runs,
    schedules,
    service,
    webhooks,
    workspaces,
)

#: The modules of the resources, in the document's order.
_RESOURCES = (
    envelopes,
    workspaces,
    definitions,
    runs,
    run_batches,
    approvals,
    webhooks,
    schedules,
    costs,
    service,
)


def resource_schemas() -> dict[str, dict[str, Any]]:
    """The schemas of what the API answers, by component name."""
    return {
        name: schema
        for resource in _RESOURCES
        for name, schema in resource.component_schemas().items()
    }
