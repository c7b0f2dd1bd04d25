"""Task handlers the tests register through `STEVORA_HANDLERS=tests.handlers`."""

from __future__ import annotations

from actors.registry import NonRetryableError, task_handler


@task_handler("add")
def add(ctx, config):
    """Adds `config.amount` to `state.total` (starting from `input.start`, else 0)."""
    total = ctx.state.get("total", ctx.input.get("start", 0))
    return {"total": total + config.get("amount", 1)}


@task_handler("record_attempt")
def record_attempt(ctx, config):
    return {f"{ctx.step_name}_key": ctx.idempotency_key, "attempt": ctx.attempt}


@task_handler("boom")
def boom(ctx, config):
    raise RuntimeError(config.get("message", "boom"))


@task_handler("refuse")
def refuse(ctx, config):
    raise NonRetryableError(config.get("message", "refused"))


@task_handler("not_a_dict")
def not_a_dict(ctx, config):
    return ["a", "list"]
