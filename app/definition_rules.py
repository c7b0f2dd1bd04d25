"""The rules a workflow definition must meet to be stored (SPEC sections 3 and 5).

Definitions are immutable, so everything a worker would choke on later is refused now, every
problem at once, each named by its path (`steps[3].retry.maxAttempts`). What a step may hold is
its type's to say (`actors.steps`); this walks the definition and asks each step's type.
"""

from __future__ import annotations

from typing import Any

from actors.steps import step_type, step_types
from actors.steps.fields import Definition
from actors.steps.step_type import COMMON_FIELDS
from models.validation import Fields, Problems

#: Fields of the definition itself.
DEFINITION_FIELDS = frozenset({"name", "version", "description", "steps", "concurrency"})

MAX_STEPS = 500

#: Members of `concurrency` (SPEC section 9), and the range of its `limit`.
CONCURRENCY_FIELDS = frozenset({"limit", "key"})
MAX_CONCURRENCY = 10_000
#: Most characters of a concurrency key's template.
MAX_KEY_TEMPLATE = 500


def check_definition(body: dict[str, Any], problems: Problems) -> None:
    """Note in `problems` every way `body` (a create request) breaks the rules."""
    fields = Fields(problems, body)
    fields.only(DEFINITION_FIELDS)
    fields.string("name", max_length=200)
    fields.string("version", max_length=50)
    fields.string("description", min_length=0, max_length=1000, required=False)
    limits = fields.object("concurrency", required=False)
    if limits is not None:
        _check_concurrency(Fields(problems, limits, "concurrency."))
    steps = body.get("steps")
    if "steps" not in body:
        problems.add("steps", "is required")
    elif not isinstance(steps, list):
        problems.add("steps", "must be a list")
    elif not 1 <= len(steps) <= MAX_STEPS:
        problems.add("steps", f"must have between 1 and {MAX_STEPS} steps")
    else:
        _check_steps(steps, problems)


def _check_concurrency(fields: Fields) -> None:
    """`{limit (1..10000), key?}`: the key a template over the input, such as
    `"{{input.customerId}}"`."""
    fields.only(CONCURRENCY_FIELDS)
    fields.integer("limit", minimum=1, maximum=MAX_CONCURRENCY)
    fields.string("key", max_length=MAX_KEY_TEMPLATE, required=False)


def _check_steps(steps: list[Any], problems: Problems) -> None:
    definition = Definition(step_names=_check_names(steps, problems))
    type_names = [kind.name for kind in step_types()]
    for index, step in enumerate(steps):
        at = f"steps[{index}]"
        if not isinstance(step, dict):
            problems.add(at, "must be an object")
            continue
        fields = Fields(problems, step, f"{at}.")
        name = fields.choice("type", type_names)
        for common in ("retry", "timeoutMs"):
            COMMON_FIELDS[common].check(fields, common, definition)
        if name is not None:
            step_type(name).check_step(fields, definition)


def _check_names(steps: list[Any], problems: Problems) -> frozenset[str]:
    """Check each step's name; return the valid names (the targets of jumps)."""
    seen: dict[str, int] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        fields = Fields(problems, step, f"steps[{index}].")
        name = COMMON_FIELDS["name"].check(fields, "name", Definition(frozenset()))
        if name is None:
            continue
        if name in seen:
            fields.add("name", f"duplicate step name {name!r} (also steps[{seen[name]}])")
        else:
            seen[name] = index
    return frozenset(seen)
