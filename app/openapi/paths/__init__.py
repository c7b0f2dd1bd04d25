"""The paths of the OpenAPI document: every route, method, parameter, body and answer, one
module per resource as in `app.resources`.

Path templates are Falcon's own (`/v1/workflow-runs/{run_id}`), so the test matches them to
the router as they are.
"""

from __future__ import annotations

from typing import Any

from app.openapi.paths import (
    approvals,
    costs,
    definitions,
    run_batches,
    run_operations,
    run_reruns,
    runs,
    schedules,
    service,
    webhooks,
    workspaces,
)

#: The modules of the resources, in the order `app.factory` adds their routes.
_RESOURCES = (
    service,
    workspaces,
    definitions,
    runs,
    run_batches,
    costs,
    run_operations,
    run_reruns,
    approvals,
    webhooks,
    schedules,
)


def paths() -> dict[str, dict[str, Any]]:
    """The path items, by path template."""
    return {path: item for resource in _RESOURCES for path, item in resource.path_items().items()}
