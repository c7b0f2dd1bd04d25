"""The condition step: judge an expression over input and state, and pick the next step."""

from __future__ import annotations

from actors.steps.context import StepContext
from actors.steps.expressions import MAX_LENGTH, ExpressionError, evaluate, parse
from actors.steps.fields import Definition, Text
from actors.steps.outcomes import Completed, Failed, Outcome
from actors.steps.types import StepType, register


def run_condition(step: dict, ctx: StepContext) -> Outcome:
    try:
        result = evaluate(step["expression"], ctx.input, ctx.state)
    except ExpressionError as exc:
        return Failed("CONDITION_INVALID", str(exc), retryable=False)
    target = step.get("trueStep") if result else step.get("falseStep")
    return Completed(output={"result": result, "nextStep": target}, jump_to=target)


def _parses(expression: str, definition: Definition) -> str | None:
    try:
        parse(expression)
    except ExpressionError as exc:
        return f"is not a valid condition: {exc}"
    return None


def _names_a_step(target: str, definition: Definition) -> str | None:
    if target in definition.step_names:
        return None
    return f"names no step of this definition: {target!r}"


CONDITION = register(
    StepType(
        name="condition",
        description="Judges `expression` over input and state and jumps to the step it names.",
        fields={
            "expression": Text(
                max_length=MAX_LENGTH, rule=_parses, description="Over input and state; never eval."
            ),
            "trueStep": Text(
                required=False, rule=_names_a_step, description="A step of this definition."
            ),
            "falseStep": Text(
                required=False, rule=_names_a_step, description="A step of this definition."
            ),
        },
        run=run_condition,
    )
)
