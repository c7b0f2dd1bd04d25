"""Calls to model providers made by LLM steps: what each cost, for the cost endpoints."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import peewee
from peewee import fn

from models.base import BaseModel, utcnow
from models.runs import StepRun, WorkflowRun
from models.workspaces import Workspace


class LlmCall(BaseModel):
    workspace = peewee.ForeignKeyField(Workspace, on_delete="CASCADE")
    run = peewee.ForeignKeyField(WorkflowRun, backref="llm_calls", on_delete="CASCADE")
    step_run = peewee.ForeignKeyField(StepRun, on_delete="CASCADE")
    attempt = peewee.IntegerField()
    provider = peewee.CharField(max_length=30)
    model = peewee.CharField(max_length=200)
    input_tokens = peewee.IntegerField()
    output_tokens = peewee.IntegerField()
    cost_usd = peewee.DecimalField(max_digits=18, decimal_places=8)
    duration_ms = peewee.IntegerField()
    #: "completed" or "failed".
    outcome = peewee.CharField(max_length=20)
    error = peewee.JSONField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)


class Amounts(NamedTuple):
    """What some calls cost: USD, tokens in and out, and how many calls they were."""

    cost_usd: Decimal
    input_tokens: int
    output_tokens: int
    calls: int


@dataclass(frozen=True)
class CostSummary:
    """What a workspace's calls in a time window cost: in all, per model and per UTC day."""

    total: Amounts
    #: (model, amounts), the costliest model first, then by name.
    by_model: list[tuple[str, Amounts]]
    #: (day, amounts), in order of day.
    by_day: list[tuple[datetime.date, Amounts]]


def insert_calls(rows: list[dict]) -> None:
    """Store the provider calls of one step attempt (rows of this table's columns)."""
    LlmCall.insert_many(rows).execute()


def calls_of_run(run_id: str) -> list[LlmCall]:
    """Every call of a run, failed ones included, oldest first (by `id`); each carries the name
    of its step (`call.step_run.step_name`: the step run is read for its id and name only)."""
    return list(
        LlmCall.select(LlmCall, StepRun.id, StepRun.step_name)
        .join(StepRun)
        .where(LlmCall.run == run_id)
        .order_by(LlmCall.id)
    )


def cost_summary(
    workspace_id: str, start: datetime.datetime | None, end: datetime.datetime | None
) -> CostSummary:
    """What the workspace's calls made in [start, end) cost, summed by the database. A bound
    that is None leaves the window open on its side: with neither, it is all time."""
    calls = LlmCall.select().where(LlmCall.workspace == workspace_id)
    if start is not None:
        calls = calls.where(LlmCall.created_at >= start)
    if end is not None:
        calls = calls.where(LlmCall.created_at < end)
    total = Amounts(*_sums(calls).tuples().get())
    by_model = (
        _sums(calls, LlmCall.model)
        .group_by(LlmCall.model)
        .order_by(fn.SUM(LlmCall.cost_usd).desc(), LlmCall.model)
    )
    day = fn.date_trunc("day", LlmCall.created_at)
    by_day = _sums(calls, day).group_by(day).order_by(day)
    return CostSummary(
        total,
        [(model, Amounts(*sums)) for model, *sums in by_model.tuples()],
        [(when.date(), Amounts(*sums)) for when, *sums in by_day.tuples()],
    )


def _sums(calls: peewee.ModelSelect, *group: Any) -> peewee.ModelSelect:
    """`calls` reduced to (*group, cost, input tokens, output tokens, count)."""
    return calls.select(
        *group,
        fn.COALESCE(fn.SUM(LlmCall.cost_usd), 0),
        fn.COALESCE(fn.SUM(LlmCall.input_tokens), 0),
        fn.COALESCE(fn.SUM(LlmCall.output_tokens), 0),
        fn.COUNT(LlmCall.id),
    )
