"""Creating a run (an idempotent insert, then `start_run` once committed), and loading runs.

Publishing is a hint (ARCHITECTURE.md): when the broker is down the run stays PENDING and the
clock's sweep re-sends `start_run`, so a failed publish never fails the request.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
import pika.exceptions
from dramatiq.errors import BrokerError

from actors.runs import start_run
from models import statuses
from models.base import utcnow
from models.definitions import WorkflowDefinition
from models.ids import new_id
from models.runs import WorkflowRun
from models.workspaces import Workspace

logger = logging.getLogger(__name__)


def create_run(
    workspace: Workspace,
    definition: WorkflowDefinition,
    run_input: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[WorkflowRun, bool]:
    """Insert a PENDING run; return it and whether it is new.

    With an idempotency key already used in this workspace, nothing is inserted and the
    existing run is returned. `ON CONFLICT DO NOTHING` makes two concurrent requests with one
    key insert one row: the second waits for the first to commit, then inserts nothing.
    No event is written: the run's version counts its events, and WORKFLOW_STARTED is first.
    """
    now = utcnow()
    run_id = new_id("wfrun")
    inserted = (
        WorkflowRun.insert(
            id=run_id,
            workspace=workspace.id,
            definition=definition.id,
            status=statuses.PENDING,
            input=run_input,
            state={},
            idempotency_key=idempotency_key,
            version=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict(
            conflict_target=[WorkflowRun.workspace, WorkflowRun.idempotency_key],
            action="IGNORE",
        )
        .execute()
    )
    if inserted is not None:
        return _with_definition(WorkflowRun.id == run_id), True
    existing = (WorkflowRun.workspace == workspace.id) & (
        WorkflowRun.idempotency_key == idempotency_key
    )
    return _with_definition(existing), False


def publish_start(broker: dramatiq.Broker, run_id: str) -> bool:
    """Send `start_run` for a committed run; False (logged) when the broker cannot take it."""
    try:
        broker.enqueue(start_run.message(run_id))
    except (BrokerError, pika.exceptions.AMQPError, OSError) as exc:
        logger.warning("start_run for %s not published (the clock will re-send): %s", run_id, exc)
        return False
    return True


def select_runs() -> Any:
    """Runs with the name and version of their definition, which every run answer shows."""
    return WorkflowRun.select(
        WorkflowRun, WorkflowDefinition.id, WorkflowDefinition.name, WorkflowDefinition.version
    ).join(WorkflowDefinition)


def _with_definition(where: Any) -> WorkflowRun:
    return select_runs().where(where).get()
