"""What a step type is: all that knows it, in one object its module exports.

Its fields check definitions and make its JSON Schema; the driver asks it what a step waits
for, how long an attempt's code may run and how many attempts it gets; `run` carries it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.steps.context import StepContext
from actors.steps.fields import MAX_DURATION_MS, Definition, Field, Text, WholeNumber
from actors.steps.outcomes import Outcome
from actors.steps.retry import DEFAULT_ATTEMPTS, RETRY_POLICY, RetryPolicy, policy_of
from models.json_schema import record
from models.validation import Fields

#: Longest step name (and `outputKey`, a state key held to the same length).
MAX_STEP_NAME = 100

#: The fields every step has, whatever its type (`type` is its own, checked first).
COMMON_FIELDS: Mapping[str, Field] = {
    "name": Text(max_length=MAX_STEP_NAME, description="Unique within the definition."),
    "retry": RETRY_POLICY,
    "timeoutMs": WholeNumber(required=False, minimum=1, maximum=MAX_DURATION_MS),
}

Runner = Callable[[dict, StepContext], Outcome]


def _nothing(step: dict) -> None:
    return None


def _never(step: dict) -> bool:
    return False


@dataclass(frozen=True, kw_only=True)
class StepType:
    name: str
    #: One line for the OpenAPI document.
    description: str
    #: The fields this type adds to the common ones.
    fields: Mapping[str, Field]
    run: Runner
    #: Rules across fields (one of two given), noted in the step's `Fields`.
    check: Callable[[Fields, Definition], None] | None = None
    #: JSON Schema keywords that state those rules.
    schema_rules: Mapping[str, Any] = field(default_factory=dict)
    #: Attempts when the step's `retry.maxAttempts` says nothing.
    default_attempts: int = DEFAULT_ATTEMPTS
    #: The signal type a step of this type can be resumed with, if any.
    awaited_signal: Callable[[dict], str | None] = _nothing
    #: True when a step that awaits no type takes a REST resume of any type.
    takes_any_signal: Callable[[dict], bool] = _never
    #: How long one attempt's own code may run (ms), if the step bounds it; the worker's lease
    #: is renewed that long (plus a grace) before another worker may take the attempt.
    attempt_bound: Callable[[dict], int | None] = _nothing
    #: True when a step of this type waits for an approval decision (its context carries it).
    decided_by_approval: bool = False

    @property
    def schema_name(self) -> str:
        """Its component name in the OpenAPI document: `external_event` is ExternalEventStep."""
        return "".join(part.title() for part in self.name.split("_")) + "Step"

    def accepts_signal(self, step: dict, signal_type: str) -> bool:
        """True when a resume with `signal_type` wakes a step of this type."""
        awaited = self.awaited_signal(step)
        return signal_type == awaited if awaited is not None else self.takes_any_signal(step)

    def retry_policy(self, step: dict) -> RetryPolicy:
        return policy_of(step, self.default_attempts)

    def check_step(self, step: Fields, definition: Definition) -> None:
        """Note every problem of a step of this type (its `type` and common fields are known)."""
        step.only(("type", *COMMON_FIELDS, *self.fields))
        for name, kind in self.fields.items():
            kind.check(step, name, definition)
        if self.check is not None:
            self.check(step, definition)

    def schema(self) -> dict[str, Any]:
        """Its JSON Schema: a closed object of the common fields and its own."""
        fields = {**COMMON_FIELDS, **self.fields}
        schema = record(
            {"type": {"const": self.name}, **{n: f.documented() for n, f in fields.items()}},
            optional=[name for name, f in fields.items() if not f.required],
        )
        description = self.description
        if self.default_attempts != DEFAULT_ATTEMPTS:
            description += (
                f" Attempts unless `retry.maxAttempts` says otherwise: {self.default_attempts}."
            )
        return {"description": description, **schema, **self.schema_rules}

    def components(self) -> dict[str, dict[str, Any]]:
        """The component schemas its fields refer to (the retry policy, an llm tool...)."""
        found: dict[str, dict[str, Any]] = {}
        for kind in (*COMMON_FIELDS.values(), *self.fields.values()):
            found.update(kind.components())
        return found
