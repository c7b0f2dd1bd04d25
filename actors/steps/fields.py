"""The fields a step type declares: each checks a definition's value and states its JSON Schema.

One declaration serves the API's validation of a definition and the OpenAPI document, so the two
cannot disagree. A check notes its problems in `Fields` and returns the value when it is good.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.base import MOMENT
from models.json_schema import bounded, record, ref, text
from models.validation import Fields

#: Longest `timeoutMs`, `durationMs` or `retry.backoffMs`: 100 years. A worker adds it to the
#: current time, which must stay a datetime (before year 10000).
MAX_DURATION_MS = 100 * 365 * 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Definition:
    """What a step's checks may ask of the definition around it."""

    step_names: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class Field:
    """A member of a step: whether it must be there, what it is for, and its check."""

    required: bool = True
    description: str | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> Any:
        """Note in `step` what is wrong with member `name`; return its value when it is good."""
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the member, without its description."""
        raise NotImplementedError

    def components(self) -> dict[str, dict[str, Any]]:
        """The OpenAPI component schemas its schema refers to, by name."""
        return {}

    def documented(self) -> dict[str, Any]:
        schema = self.schema()
        return {**schema, "description": self.description} if self.description else schema


#: A rule a good string must also meet: the problem with `value`, or None when it meets it.
Rule = Callable[[str, Definition], str | None]


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    min_length: int = 1
    max_length: int | None = None
    #: What no schema can state: a handler registered, a step named, an expression parsing.
    rule: Rule | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> str | None:
        value = step.string(
            name, min_length=self.min_length, max_length=self.max_length, required=self.required
        )
        problem = value is not None and self.rule is not None and self.rule(value, definition)
        if problem:
            step.add(name, problem)
            return None
        return value

    def schema(self) -> dict[str, Any]:
        return text(self.min_length, self.max_length)


@dataclass(frozen=True, kw_only=True)
class Integer(Field):
    minimum: int | None = None
    maximum: int | None = None
    default: int | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> int | None:
        return step.integer(
            name, minimum=self.minimum, maximum=self.maximum, required=self.required
        )

    def schema(self) -> dict[str, Any]:
        return bounded({"type": "integer"}, self.minimum, self.maximum, self.default)


@dataclass(frozen=True, kw_only=True)
class WholeNumber(Integer):
    """A number stored rounded down: Stevora documents these as numbers (`1500.5`).

    The bounds hold for the number as written, as its schema states them: `maximum + 0.5`
    is refused, though it would round down to the maximum."""

    def check(self, step: Fields, name: str, definition: Definition) -> int | None:
        value = step.number(
            name, minimum=self.minimum, maximum=self.maximum, required=self.required
        )
        if value is None:
            return None
        step.obj[name] = math.floor(value)  # the definition is stored with it rounded down
        return step.obj[name]

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), "type": "number"}


@dataclass(frozen=True, kw_only=True)
class Number(Field):
    minimum: float | None = None
    maximum: float | None = None
    default: float | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> float | None:
        return step.number(name, minimum=self.minimum, maximum=self.maximum, required=self.required)

    def schema(self) -> dict[str, Any]:
        return bounded({"type": "number"}, self.minimum, self.maximum, self.default)


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    choices: tuple[str, ...] = ()
    default: str | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> str | None:
        return step.choice(name, self.choices, required=self.required)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"enum": list(self.choices)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True, kw_only=True)
class Object(Field):
    """Any JSON object."""

    def check(self, step: Fields, name: str, definition: Definition) -> dict | None:
        return step.object(name, required=self.required)

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}


@dataclass(frozen=True, kw_only=True)
class Names(Field):
    """A list of non-empty strings, each at most `max_length` characters."""

    max_length: int | None = None

    def check(self, step: Fields, name: str, definition: Definition) -> list[str] | None:
        if name not in step.obj:
            if self.required:
                step.add(name, "is required")
            return None
        value = step.obj[name]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            step.add(name, "must be a list of non-empty strings")
            return None
        limit = self.max_length
        too_long = [i for i, v in enumerate(value) if limit is not None and len(v) > limit]
        for index in too_long:
            step.add(f"{name}[{index}]", f"must be at most {limit} characters")
        return None if too_long else value

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": text(1, self.max_length)}


@dataclass(frozen=True, kw_only=True)
class Timestamp(Field):
    """An ISO-8601 moment: with a zone, or without one (UTC), or a date (midnight UTC)."""

    def check(self, step: Fields, name: str, definition: Definition) -> str | None:
        return None if step.moment(name, required=self.required) is None else step.obj[name]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{MOMENT.pattern}$"}


@dataclass(frozen=True, kw_only=True)
class Record(Field):
    """A closed object of its own fields, named `component` in the OpenAPI document."""

    component: str = ""
    fields: Mapping[str, Field] = field(default_factory=dict)

    def check(self, step: Fields, name: str, definition: Definition) -> dict | None:
        value = step.object(name, required=self.required)
        if value is None:
            return None
        members = Fields(step.problems, value, step.path(f"{name}."))
        count = len(step.problems.fields)
        members.only(self.fields)
        for member, kind in self.fields.items():
            kind.check(members, member, definition)
        return value if len(step.problems.fields) == count else None

    def schema(self) -> dict[str, Any]:
        return ref(self.component)

    def components(self) -> dict[str, dict[str, Any]]:
        own = record(
            {name: kind.documented() for name, kind in self.fields.items()},
            optional=[name for name, kind in self.fields.items() if not kind.required],
        )
        nested = [kind.components() for kind in self.fields.values()]
        return {self.component: own, **{k: v for c in nested for k, v in c.items()}}
