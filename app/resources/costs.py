"""What model calls cost: GET /v1/workflow-runs/:id/cost and GET /v1/cost/summary."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import falcon

from app import serializers
from app.run_creation import find_run
from models.llm_calls import Amounts, calls_of_run, cost_summary
from models.validation import Problems

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Costs:
    def on_get_run(self, req: falcon.Request, resp: falcon.Response, run_id: str) -> None:
        """Every call of the run, oldest first, failed ones included, with the totals."""
        run = find_run(req.context.workspace, run_id)
        calls = calls_of_run(run.id)
        resp.media = {
            "success": True,
            "data": {
                "workflowRunId": run.id,
                "totalCostUsd": serializers.usd(sum((c.cost_usd for c in calls), Decimal(0))),
                "totalInputTokens": sum(c.input_tokens for c in calls),
                "totalOutputTokens": sum(c.output_tokens for c in calls),
                "calls": [serializers.llm_call(c) for c in calls],
            },
        }

    def on_get_summary(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The workspace's calls made in [from, to): totals, per model and per UTC day.

        `from` and `to` are ISO-8601 timestamps (UTC when they name no zone) or dates; a date
        `to` includes that whole day. Either may be left out: the window is then open on that
        side, so without both it covers all time (SPEC section 14). The answer says the bounds
        it used, null for an open one.
        """
        problems = Problems()
        start, end = _window(req, problems)
        problems.raise_if_any()
        summary = cost_summary(req.context.workspace.id, start, end)
        total = summary.total
        resp.media = {
            "success": True,
            "data": {
                "from": serializers.timestamp(start),
                "to": serializers.timestamp(end),
                "totalCostUsd": serializers.usd(total.cost_usd),
                "totalInputTokens": int(total.input_tokens),
                "totalOutputTokens": int(total.output_tokens),
                "calls": total.calls,
                "byModel": [
                    _amounts({"model": model}, amounts) for model, amounts in summary.by_model
                ],
                "byDay": [
                    _amounts({"day": day.isoformat()}, amounts) for day, amounts in summary.by_day
                ],
            },
        }


def _amounts(key: dict[str, str], amounts: Amounts) -> dict[str, Any]:
    return {
        **key,
        "costUsd": serializers.usd(amounts.cost_usd),
        "inputTokens": int(amounts.input_tokens),
        "outputTokens": int(amounts.output_tokens),
        "calls": amounts.calls,
    }


def _window(
    req: falcon.Request, problems: Problems
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """`(from, to)`, each None when not given (or bad, noted in `problems`)."""
    start = _moment(req, "from", problems)
    end = _moment(req, "to", problems)
    if start is not None and end is not None and start >= end:
        problems.add("from", "must be before to")
    return start, end


def _moment(req: falcon.Request, name: str, problems: Problems) -> datetime.datetime | None:
    """A query parameter as a naive UTC datetime; None when absent or bad (noted)."""
    raw = req.get_param(name)
    if raw is None:
        return None
    try:
        if _DATE.fullmatch(raw):
            moment = datetime.datetime.fromisoformat(raw)
            return moment + datetime.timedelta(days=1) if name == "to" else moment
        if "T" not in raw:
            raise ValueError(raw)
        moment = datetime.datetime.fromisoformat(raw)
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        # OverflowError: the day after 9999-12-31, or a zone that moves 0001-01-01 before it.
        problems.add(name, "must be an ISO-8601 date (2026-11-28) or timestamp in years 1-9999")
        return None
    return moment
