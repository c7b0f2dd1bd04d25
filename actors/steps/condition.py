"""The condition step: judge an expression over input and state, and pick the next step."""

from __future__ import annotations

from actors.steps.context import StepContext
from actors.steps.expressions import ExpressionError, evaluate, parse
from actors.steps.fields import Definition, Text
from actors.steps.outcomes import Completed, Failed, Outcome
from actors.steps.types import StepType, register
from models.validation import Fields


def run_condition(step: dict, ctx: StepContext) -> Outcome:
    try:
        result = evaluate(step["expression"], ctx.input, ctx.state)
    except ExpressionError as exc:
        return Failed("CONDITION_INVALID", str(exc), retryable=False)
    target = step.get("trueStep") if result else step.get("falseStep")
    return Completed(output={"result": result, "nextStep": target}, jump_to=target)


class Expression(Text):
    """A condition expression that parses."""

    def check(self, step: Fields, name: str, definition: Definition) -> str | None:
        expression = super().check(step, name, definition)
        if expression is None:
            return None
        try:
            parse(expression)
        except ExpressionError as exc:
            step.add(name, f"is not a valid condition: {exc}")
            return None
        return expression


class StepName(Text):
    """The name of another step of the same definition."""

    def check(self, step: Fields, name: str, definition: Definition) -> str | None:
        target = super().check(step, name, definition)
        if target is not None and target not in definition.step_names:
            step.add(name, f"names no step of this definition: {target!r}")
            return None
        return target


CONDITION = register(
    StepType(
        name="condition",
        description="Judges `expression` over input and state and jumps to the step it names.",
        fields={
            "expression": Expression(description="Over input and state; never eval."),
            "trueStep": StepName(required=False, description="A step of this definition."),
            "falseStep": StepName(required=False, description="A step of this definition."),
        },
        run=run_condition,
    )
)
