"""The API's check of a step and the step's schema in the OpenAPI document agree, for every
registered step type: hypothesis writes definitions from each type's field declarations, good
and broken (`tests.step_values`), posts them, and holds the answer against the schema's verdict.

1. A step the schema refuses is refused: a 400 naming a field under it, and nothing stored.
2. A definition the API stores, the schema takes, step by step.
3. What the API refuses that the schema takes is a check no schema can state, and only where a
   strategy meant one: a handler or tool not registered, a tool offered twice, a condition
   target naming no step, an expression that does not parse, a guardrail that cannot be built,
   a JSON Schema the worker cannot use (invalid, or a pattern RE2 refuses), a moment of the
   pattern naming none (February 30, 24:00, an offset of 24 hours; outside years 1-9999 once
   in UTC), an integer written with a fraction (`3.0`, to JSON Schema an integer; the numbers
   stored rounded down take one). Each one meant in a step the schema takes is named.

The profile is small by default; `HYPOTHESIS_PROFILE=long` runs many more examples.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import tests.llm_step_values  # noqa: F401  (the llm step's kinds of field)
from actors.llm import patterns
from actors.steps import StepType, step_types
from actors.steps.step_type import COMMON_FIELDS
from app.openapi import build_document
from models.definitions import WorkflowDefinition
from tests.api_support import assert_error
from tests.step_values import (
    JSON,
    Around,
    Value,
    members,
    other_than,
    sorts_of,
    texts,
    under,
)
from tests.test_properties import PROFILE

settings.register_profile("schemas-ci", settings.get_profile("ci"), max_examples=60)
settings.register_profile("schemas-long", settings.get_profile("long"), max_examples=500)

#: Most steps in a generated definition, and most changes that break it.
MAX_STEPS = 3
MAX_CHANGES = 2
#: The ways a step is broken: ones its schema states, and a value breaking a check it cannot.
STATED = ("bad", "bad", "bad", "missing", "unknown", "type", "not object")
UNSTATED = ("unstated",)
#: What a definition's changes are drawn from: none, either sort, or both.
PLANS = ((), STATED, UNSTATED, STATED + UNSTATED)

DOCUMENT = build_document()
_URI = "urn:stevora"
_REGISTRY = Registry().with_resource(_URI, Resource(contents=DOCUMENT, specification=DRAFT202012))
#: A `format` is asserted, should a step's schema state one (moments are a `pattern`).
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _pattern(validator, pattern: str, instance: Any, schema: dict):
    """`pattern` read as ECMA-262 says, closer in RE2 than in Python's `re`, whose `$` also
    matches before a final newline (`^[a-z]+$` would take "lookup\\n")."""
    if validator.is_type(instance, "string") and not patterns.compile_pattern(pattern).search(
        instance
    ):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def _validator(component: str) -> jsonschema.protocols.Validator:
    return _Validator(
        {"$ref": f"{_URI}#/components/schemas/{component}"},
        registry=_REGISTRY,
        format_checker=FORMATS,
    )


STEP = _validator("Step")
#: Each type's own schema, whose errors say more than the `oneOf` of `Step` (for notes).
OWN = {kind.name: _validator(kind.schema_name) for kind in step_types()}


@dataclass(frozen=True)
class Draft:
    """Generated steps, and the paths where the API is to refuse what no schema states."""

    steps: list[Any]
    #: Where it is meant to.
    meant: tuple[str, ...]
    #: Where it may: a value good beside members that were broken since.
    excused: tuple[str, ...]


def _change(
    draw, how: str, steps: list, kinds: list, index: int, names: tuple[str, ...]
) -> set[str]:
    """Break step `index` one way; the members changed ({"*"} when it is no longer an object)."""
    step, kind = steps[index], kinds[index]
    fields = {**COMMON_FIELDS, **kind.fields}
    around = Around(names, index, step)
    if how in ("bad", "unstated"):
        candidates = [n for n in fields if getattr(sorts_of(fields[n], around), how) is not None]
        name = draw(st.sampled_from(candidates))
        step[name] = draw(getattr(sorts_of(fields[name], around), how))
        return {name}
    if how == "missing":
        name = draw(st.sampled_from(["type", *(n for n in fields if fields[n].required)]))
        step.pop(name, None)
        return {name}
    if how == "unknown":
        others = sorted({n for other in step_types() for n in other.fields} - set(fields))
        name = draw(
            st.sampled_from(others)
            | texts(0, 10).filter(lambda key: key not in fields and key != "type")
        )
        step[name] = Value(draw(JSON))
        return {name}
    if how == "type":
        known = {other.name for other in step_types()}
        step["type"] = draw(
            texts(0, 12).filter(lambda name: name not in known).map(Value) | other_than("string")
        )
        return {"type"}
    steps[index] = draw(other_than("object"))
    return {"*"}


@st.composite
def drafts(draw, kind: StepType) -> Draft:
    """1 to MAX_STEPS good steps, one of them of `kind` (the others of any registered type),
    that one then broken up to MAX_CHANGES times after a plan."""
    count = draw(st.integers(1, MAX_STEPS))
    name_values = sorts_of(COMMON_FIELDS["name"], Around((), 0, {})).good
    names = tuple(
        draw(
            st.lists(
                name_values.map(lambda v: v.value), min_size=count, max_size=count, unique=True
            )
        )
    )
    focus = draw(st.integers(0, count - 1))
    kinds = [kind if i == focus else draw(st.sampled_from(step_types())) for i in range(count)]
    steps: list[Any] = []
    for index, each in enumerate(kinds):
        given = {"type": Value(each.name), "name": Value(names[index])}
        fields = {**COMMON_FIELDS, **each.fields}
        steps.append(draw(members(fields, Around(names, index, {}), given)))
    changed: set[tuple[int, str]] = set()
    plan = draw(st.sampled_from(PLANS))
    for _ in range(draw(st.integers(1, MAX_CHANGES)) if plan else 0):
        if isinstance(steps[focus], dict):
            how = draw(st.sampled_from(plan))
            changed |= {(focus, name) for name in _change(draw, how, steps, kinds, focus, names)}
    meant: list[str] = []
    excused: list[str] = []
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        for name, value in step.items():
            at = f"steps[{index}].{name}"
            meant += [under(at, path) for path in value.planted]
            if any(dep in changed or (dep[0], "*") in changed for dep in value.relies_on):
                excused.append(at)
    plain = [
        {name: v.value for name, v in step.items()} if isinstance(step, dict) else step.value
        for step in steps
    ]
    return Draft(plain, tuple(meant), tuple(excused))


def is_under(field: str, path: str) -> bool:
    return field == path or field.startswith((f"{path}.", f"{path}["))


_versions = itertools.count()


@pytest.mark.parametrize("kind", step_types(), ids=lambda kind: kind.name)
@settings(settings.get_profile(f"schemas-{PROFILE}"))
@given(data=st.data())
def test_the_api_refuses_a_step_when_its_schema_does_and_otherwise_only_what_no_schema_states(
    client, auth, kind, data
):
    draft = data.draw(drafts(kind), label="draft")
    refused = []
    for index, step in enumerate(draft.steps):
        error = jsonschema.exceptions.best_match(STEP.iter_errors(step))
        if error is not None:
            refused.append(f"steps[{index}]")
            named = step.get("type") if isinstance(step, dict) else None
            own = OWN.get(named) if isinstance(named, str) else None
            error = (own and jsonschema.exceptions.best_match(own.iter_errors(step))) or error
            note(f"steps[{index}] against its schema, at {error.json_path}: {error.message}")

    body = {"name": "agreeing", "version": str(next(_versions)), "steps": draft.steps}
    before = WorkflowDefinition.select().count()

    response = client.simulate_post("/v1/workflow-definitions", headers=auth, json=body)

    stored = WorkflowDefinition.select().count() - before
    event(f"{response.status_code}, schema refuses {'some' if refused else 'none'}")
    if response.status_code == 201:
        assert not refused, "the API stored steps their schema refuses"
        assert not draft.meant, "the API took what it was meant to refuse"
        assert stored == 1
        return
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert stored == 0
    named = [item["field"] for item in error["details"]["fields"]]
    note(f"the API: {error['details']['fields']}")
    for at in refused:
        assert any(is_under(field, at) for field in named), f"{at} refused, but not named"
    for path in draft.meant:
        if not any(is_under(path, at) for at in refused):
            assert any(is_under(field, path) for field in named), f"{path} meant, not named"
    unexplained = [
        field
        for field in named
        if not any(is_under(field, at) for at in refused)
        and not any(is_under(field, path) for path in draft.meant + draft.excused)
    ]
    assert not unexplained, "the API refused what the schema takes and no check meant"
