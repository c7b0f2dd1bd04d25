"""The condition step: judge an expression over input and state, and pick the next step."""

from __future__ import annotations

from actors.steps.context import StepContext
from actors.steps.expressions import ExpressionError, evaluate
from actors.steps.outcomes import Completed, Failed, Outcome


def run_condition(step: dict, ctx: StepContext) -> Outcome:
    try:
        result = evaluate(step["expression"], ctx.input, ctx.state)
    except ExpressionError as exc:
        return Failed("CONDITION_INVALID", str(exc), retryable=False)
    target = step.get("trueStep") if result else step.get("falseStep")
    return Completed(output={"result": result, "nextStep": target}, jump_to=target)
