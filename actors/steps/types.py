"""The step types this process knows, by name: the built-in ones and any a module registers.

A handler module (`STEVORA_HANDLERS`) may register a type of its own; the API and the workers
must both import it, as they do handlers.
"""

from __future__ import annotations

from actors.steps.step_type import StepType

_types: dict[str, StepType] = {}


class UnknownStepType(LookupError):
    """No step type is registered under that name."""


def register(step_type: StepType) -> StepType:
    """Make `step_type` known by its name; registering a name again replaces the type."""
    _types[step_type.name] = step_type
    return step_type


def unregister(name: str) -> None:
    """Forget the type called `name` (a test's own type, once the test is over)."""
    _types.pop(name, None)


def step_type(name: str) -> StepType:
    try:
        return _types[name]
    except KeyError:
        raise UnknownStepType(name) from None


def step_types() -> tuple[StepType, ...]:
    """Every known type, in the order they were registered."""
    return tuple(_types.values())
