"""The app factory: middleware, error handling and routes, with collaborators passed in."""

from __future__ import annotations

import dramatiq
import falcon
from dramatiq.brokers.rabbitmq import RabbitmqBroker

import actors  # Sets up the broker and loads the task handler modules (STEVORA_HANDLERS).
from app.auth import Authenticator
from app.database import DatabaseSession
from app.errors import register_error_handlers
from app.media import BodyLimits
from app.openapi import OPENAPI_PATH
from app.rate_limits import RateLimiter
from app.resources.api_keys import ApiKeys
from app.resources.approvals import ApprovalRequests
from app.resources.costs import Costs
from app.resources.definitions import Definitions
from app.resources.health import HEALTH_PATH, Health
from app.resources.openapi import OpenApiDocument
from app.resources.run_batches import RunBatches
from app.resources.run_bulk import RunsBulk
from app.resources.run_operations import RunOperations
from app.resources.run_reruns import RunReruns
from app.resources.runs import Runs
from app.resources.schedules import Schedules
from app.resources.webhooks import Webhooks
from app.resources.workspaces import CurrentWorkspace, Workspaces
from models.config import Settings
from models.db import bind_database


def create_app(settings: Settings, *, broker: RabbitmqBroker | None = None) -> falcon.App:
    """Build the WSGI app on `settings`: the database it binds, `admin_token` and
    `rate_limit_per_s`.

    The entry point (`app.wsgi`) also makes them the process's (`models.config.configure`),
    which the data layer reads; an app built with other settings changes nothing else.

    Parameters:
      settings: what the app reads; `admin_token` guards `POST /v1/workspaces` (None
        disables it); `rate_limit_per_s` is the workspaces' default limit (0: no limits).
      broker: where `start_run` and `execute_step` commands go and what `/health` checks;
        the actors' broker by default.
    """
    bind_database(settings)
    broker = broker if broker is not None else actors.broker
    middleware = [
        DatabaseSession(exempt=(HEALTH_PATH, OPENAPI_PATH)),
        BodyLimits(),
        Authenticator(settings.admin_token),
    ]
    if settings.rate_limit_per_s:
        middleware.append(RateLimiter(settings.rate_limit_per_s))
    app = falcon.App(middleware=middleware)
    register_error_handlers(app)
    _add_routes(app, broker)
    return app


def _add_routes(app: falcon.App, broker: dramatiq.Broker) -> None:
    app.add_route(HEALTH_PATH, Health(broker.parameters))
    app.add_route(OPENAPI_PATH, OpenApiDocument())
    workspaces = Workspaces()
    app.add_route("/v1/workspaces", workspaces)
    app.add_route("/v1/workspaces/{workspace_id}", workspaces, suffix="item")
    app.add_route("/v1/workspaces/current", CurrentWorkspace())
    api_keys = ApiKeys()
    app.add_route("/v1/api-keys", api_keys)
    app.add_route("/v1/api-keys/{key_id}", api_keys, suffix="item")
    definitions = Definitions()
    app.add_route("/v1/workflow-definitions", definitions)
    app.add_route("/v1/workflow-definitions/{definition_id}", definitions, suffix="item")
    runs = Runs(broker)
    app.add_route("/v1/workflow-runs", runs)
    app.add_route("/v1/workflow-runs/batch", RunBatches())
    bulk = RunsBulk(broker)
    app.add_route("/v1/workflow-runs/bulk/cancel", bulk, suffix="cancel")
    app.add_route("/v1/workflow-runs/bulk/retry", bulk, suffix="retry")
    app.add_route("/v1/workflow-runs/{run_id}", runs, suffix="item")
    app.add_route("/v1/workflow-runs/{run_id}/events", runs, suffix="events")
    costs = Costs()
    app.add_route("/v1/workflow-runs/{run_id}/cost", costs, suffix="run")
    app.add_route("/v1/cost/summary", costs, suffix="summary")
    operations = RunOperations(broker)
    app.add_route("/v1/workflow-runs/{run_id}/cancel", operations, suffix="cancel")
    app.add_route("/v1/workflow-runs/{run_id}/resume", operations, suffix="resume")
    app.add_route("/v1/workflow-runs/{run_id}/retry", operations, suffix="retry")
    app.add_route("/v1/workflow-runs/{run_id}/rerun", RunReruns(broker))
    app.add_route("/v1/workflow-runs/{run_id}/pause", operations, suffix="pause")
    app.add_route("/v1/workflow-runs/{run_id}/unpause", operations, suffix="unpause")
    approvals = ApprovalRequests(broker)
    app.add_route("/v1/approval-requests", approvals)
    app.add_route("/v1/approval-requests/{request_id}", approvals, suffix="item")
    app.add_route("/v1/approval-requests/{request_id}/decide", approvals, suffix="decide")
    webhooks = Webhooks()
    app.add_route("/v1/webhooks", webhooks)
    app.add_route("/v1/webhooks/{webhook_id}", webhooks, suffix="item")
    app.add_route("/v1/webhooks/{webhook_id}/deliveries", webhooks, suffix="deliveries")
    schedules = Schedules()
    app.add_route("/v1/schedules", schedules)
    app.add_route("/v1/schedules/{schedule_id}", schedules, suffix="item")
    app.add_route("/v1/schedules/{schedule_id}/pause", schedules, suffix="pause")
    app.add_route("/v1/schedules/{schedule_id}/unpause", schedules, suffix="unpause")
