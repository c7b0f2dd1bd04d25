"""Many runs at once: a batch inserted in one statement, and the runs a bulk operation matches."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from models import statuses
from models.base import utcnow
from models.db import db
from models.ids import new_id
from models.runs import WorkflowRun, select_runs

#: Runs a bulk operation reads at a time, oldest first.
BULK_PAGE = 500

_INSERT_HEAD = (
    "INSERT INTO workflow_run (id, workspace_id, definition_id, status, input, state,"
    " idempotency_key, next_run_at, concurrency_key, version, created_at, updated_at) VALUES "
)
_ROW = "(%s, %s, %s, %s, %s::jsonb, '{}'::jsonb, %s, %s, %s, 0, %s, %s)"
_INSERT_TAIL = " ON CONFLICT (workspace_id, idempotency_key) DO NOTHING RETURNING id"


@dataclass(frozen=True)
class NewRun:
    definition_id: str
    input: dict[str, Any]
    idempotency_key: str | None
    #: Its concurrency key (`models.concurrency`); None when its definition has no limit.
    concurrency_key: str | None = None


def insert_runs(
    workspace_id: str, new_runs: list[NewRun], next_run_at: datetime.datetime
) -> list[tuple[WorkflowRun, bool]]:
    """Insert PENDING runs in one statement; each run in order, and whether it is new.

    A run whose idempotency key the workspace used before, or earlier in the batch, is the run
    that has it (as one create would answer); two batches racing on a key insert one run.
    """
    now = utcnow()
    ids = [new_id("wfrun") for _ in new_runs]
    first_of_key: dict[str, int] = {}
    rows = []
    for index, new_run in enumerate(new_runs):
        key = new_run.idempotency_key
        if key is not None and first_of_key.setdefault(key, index) != index:
            continue  # a repeat within the batch: it is the first one's run
        rows.append(
            (
                ids[index],
                workspace_id,
                new_run.definition_id,
                statuses.PENDING,
                json.dumps(new_run.input),
                key,
                next_run_at,
                new_run.concurrency_key,
                now,
                now,
            )
        )
    sql = _INSERT_HEAD + ", ".join([_ROW] * len(rows)) + _INSERT_TAIL
    inserted = {row[0] for row in db.execute_sql(sql, [v for row in rows for v in row])}
    keys = [r.idempotency_key for i, r in enumerate(new_runs) if ids[i] not in inserted]
    by_key = _runs_by_key(workspace_id, [k for k in keys if k is not None])
    by_id = {run.id: run for run in select_runs().where(WorkflowRun.id.in_(list(inserted)))}
    answer = []
    for index, new_run in enumerate(new_runs):
        if ids[index] in inserted:
            answer.append((by_id[ids[index]], True))
        else:
            answer.append((by_key[new_run.idempotency_key], False))
    return answer


def _runs_by_key(workspace_id: str, keys: list[str]) -> dict[str, WorkflowRun]:
    if not keys:
        return {}
    query = select_runs().where(
        (WorkflowRun.workspace == workspace_id) & WorkflowRun.idempotency_key.in_(keys)
    )
    return {run.idempotency_key: run for run in query}


def matching_run_ids(
    workspace_id: str,
    ids: list[str] | None = None,
    status: str | None = None,
    definition_id: str | None = None,
    created_before: datetime.datetime | None = None,
) -> Iterator[list[str]]:
    """The ids of the workspace's runs that match every filter given, `BULK_PAGE` at a time,
    by id (creation order); runs created meanwhile are not seen twice."""
    query = WorkflowRun.select(WorkflowRun.id).where(WorkflowRun.workspace == workspace_id)
    if ids is not None:
        query = query.where(WorkflowRun.id.in_(ids))
    if status is not None:
        query = query.where(WorkflowRun.status == status)
    if definition_id is not None:
        query = query.where(WorkflowRun.definition == definition_id)
    if created_before is not None:
        query = query.where(WorkflowRun.created_at < created_before)
    after = ""
    while True:
        page = [
            run.id
            for run in query.where(WorkflowRun.id > after).order_by(WorkflowRun.id).limit(BULK_PAGE)
        ]
        if not page:
            return
        yield page
        after = page[-1]
