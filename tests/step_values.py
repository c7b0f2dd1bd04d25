"""Hypothesis strategies of a step's members, derived from its type's field declarations.

Each kind of field (`actors.steps.fields`, `actors.llm.fields`) gives values of three sorts:
good ones, which the API and the step's schema both take; bad ones, which break what the schema
states (a wrong type, a number out of range, a string too long, an unknown or missing member);
and, for the kinds that have one, values that break only a check no schema can state (a handler
that is not registered, a pattern RE2 cannot run...). Those carry the paths, under their member,
where the API is meant to refuse them, so a test can tell a refusal meant from one that is not.
A field's strategies are found by its class (`KINDS`), a `Text` with a rule's by the rule
(`RULES`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from hypothesis import strategies as st

from actors.registry import is_registered
from actors.steps import step_type
from actors.steps.expressions import ExpressionError, parse
from actors.steps.fields import (
    Choice,
    Field,
    Integer,
    Names,
    Number,
    Object,
    Record,
    Rule,
    Text,
    Timestamp,
    WholeNumber,
)

#: Handlers a good value names.
HANDLERS = ("noop", "echo")
assert all(map(is_registered, HANDLERS))

#: How long a string may grow where its field declares no maximum: past any limit kept quiet.
LONG = 3000

#: Characters of generated text: no NUL or lone surrogate, which no body may hold at all
#: (`app.media.read_object` refuses them before any field is looked at).
CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")

#: A few values of each JSON type, to stand where another type belongs.
SAMPLES: dict[str, tuple[Any, ...]] = {
    "null": (None,),
    "boolean": (True, False),
    "integer": (0, 7, -1),
    "number": (2.5, -0.5),
    "string": ("", "7", "x"),
    "array": ([], [1], ["a"]),
    "object": ({}, {"a": 1}),
}

#: Expressions that parse, and some that do not (words with no operator between them are a
#: path, `1 2` is one: SPEC section 14).
CLAUSES = ("input.n > 1", "state.ok", "not input.v", "input.s == 'x'", "1 in [1, 2]", "true")
UNPARSEABLE = ("(", "input.n ==", "and", "'open", "   ", "a ! b", "a..b", ".a")


def _parses(source: str) -> bool:
    try:
        parse(source)
    except ExpressionError:
        return False
    return True


assert all(map(_parses, CLAUSES)) and not any(map(_parses, UNPARSEABLE))


@dataclass(frozen=True)
class Value:
    """A generated member value and what it is meant to break that no schema states."""

    value: Any
    #: Paths, relative to the member, at which the API is meant to refuse it ("" for itself).
    planted: tuple[str, ...] = ()
    #: Members, as (step index, member), it may be refused without once they are broken: a
    #: condition target names a step's name; a schema check may use the step's outputSchema.
    relies_on: tuple[tuple[int, str], ...] = ()


def meant(value: Any, *paths: str) -> Value:
    """`value`, meant to be refused at `paths` (default: the member itself)."""
    return Value(value, paths or ("",))


def under(prefix: str, path: str) -> str:
    """`path` (relative) put under `prefix`: `retry` and `maxAttempts` give retry.maxAttempts."""
    if not path:
        return prefix
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


@dataclass(frozen=True)
class Around:
    """What a member's values may depend on: the definition's step names (generated in
    advance), the index of the step, and its members drawn so far."""

    names: tuple[str, ...]
    index: int
    members: Mapping[str, Value]


class Sorts(NamedTuple):
    good: st.SearchStrategy[Value]
    bad: st.SearchStrategy[Value]
    #: Breaks only a check no schema can state, if the kind has one.
    unstated: st.SearchStrategy[Value] | None = None


Kind = Callable[[Any, Around], Sorts]


def sorts_of(field: Field, around: Around) -> Sorts:
    """The three sorts of values of `field`, by its exact class, or for a `Text` with a rule
    by the rule: a new kind of field, or a new rule, needs its own strategies here before it
    is covered."""
    if type(field) is Text and field.rule is not None:
        kind = RULES.get(field.rule)
        if kind is None:
            raise LookupError(f"no strategies for a text with the rule {field.rule.__qualname__}")
    else:
        kind = KINDS.get(type(field))
        if kind is None:
            raise LookupError(f"no strategies for a field of kind {type(field).__name__}")
    return kind(field, around)


def other_than(*types: str) -> st.SearchStrategy[Value]:
    """A value of any JSON type but `types`."""
    found = [v for name, values in SAMPLES.items() if name not in types for v in values]
    return st.sampled_from(found).map(Value)


def texts(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, min_size=min_size, max_size=max_size)


def exactly(length: int) -> st.SearchStrategy[str]:
    """Text of `length` characters, drawn cheaply: a short piece repeated."""
    if length == 0:
        return st.just("")
    return texts(1, 8).map(lambda piece: (piece * length)[:length])


def longer_than(length: int) -> st.SearchStrategy[str]:
    return st.integers(length + 1, length + 3).flatmap(exactly)


def lengths(min_size: int, max_size: int | None) -> st.SearchStrategy[str]:
    """Text between the bounds: mostly short, sometimes exactly the longest allowed (or, when
    there is no maximum, long)."""
    longest = max_size if max_size is not None else LONG
    short = texts(min_size, min(longest, 20))
    return st.one_of(short, exactly(longest)) if longest > 20 else short


def text_bad(field: Text) -> st.SearchStrategy[Value]:
    bad = [other_than("string")]
    if field.min_length > 0:
        bad.append(texts(0, field.min_length - 1).map(Value))
    if field.max_length is not None:
        bad.append(longer_than(field.max_length).map(Value))
    return st.one_of(bad)


def text_kind(field: Text, around: Around) -> Sorts:
    return Sorts(lengths(field.min_length, field.max_length).map(Value), text_bad(field))


def handler_kind(field: Text, around: Around) -> Sorts:
    unregistered = texts(1, 20).filter(lambda name: not is_registered(name))
    return Sorts(st.sampled_from(HANDLERS).map(Value), text_bad(field), unregistered.map(meant))


def expression_kind(field: Text, around: Around) -> Sorts:
    longest = field.max_length if field.max_length is not None else LONG

    def chained(clause: str) -> st.SearchStrategy[str]:
        """The clause or'ed with itself, as long as the field takes."""
        most = (longest + 4) // (len(clause) + 4)
        return st.integers(1, most).map(lambda count: " or ".join([clause] * count))

    fitting = st.sampled_from(CLAUSES).flatmap(chained)
    # Padded with spaces (which the parser drops) to exactly the longest allowed.
    full = fitting.map(lambda source: source.ljust(longest))
    good = st.one_of(st.sampled_from(CLAUSES), fitting, full)
    return Sorts(good.map(Value), text_bad(field), st.sampled_from(UNPARSEABLE).map(meant))


def step_name_kind(field: Text, around: Around) -> Sorts:
    names = around.names
    good = st.sampled_from(range(len(names))).map(
        lambda target: Value(names[target], relies_on=((target, "name"),))
    )
    nowhere = texts(1, 20).filter(lambda name: name not in names)
    return Sorts(good, text_bad(field), nowhere.map(meant))


def integer_kind(field: Integer, around: Around) -> Sorts:
    low = field.minimum if field.minimum is not None else -(10**9)
    high = field.maximum if field.maximum is not None else low + 10**9
    bad = [other_than("integer")]
    if field.minimum is not None:
        bad.append(st.integers(field.minimum - 10**6, field.minimum - 1).map(Value))
    if field.maximum is not None:
        bad.append(st.integers(field.maximum + 1, field.maximum + 10**6).map(Value))
    # JSON Schema counts 3.0 an integer (its data model has numbers only); the API wants
    # the literal without a fraction, which no schema can say.
    fractional = st.integers(low, high).map(lambda n: meant(float(n)))
    return Sorts(st.integers(low, high).map(Value), st.one_of(bad), fractional)


def number_kind(field: Number | WholeNumber, around: Around) -> Sorts:
    low = field.minimum if field.minimum is not None else -1e6
    high = field.maximum if field.maximum is not None else 1e6
    good = st.one_of(
        st.floats(low, high, allow_nan=False, allow_infinity=False),
        st.integers(math.ceil(low), math.floor(high)),
    )
    bad = [other_than("integer", "number")]
    if field.minimum is not None:
        bad.append(st.floats(low - 100, low, exclude_max=True).map(Value))
    if field.maximum is not None:
        bad.append(st.floats(high, high + 100, exclude_min=True).map(Value))
    return Sorts(good.map(Value), st.one_of(bad))


def whole_number_kind(field: WholeNumber, around: Around) -> Sorts:
    """A number, stored rounded down, with its bounds held for the number as written: a
    fraction just above the maximum is refused, though it rounds down to it (SPEC section 14)."""
    good, bad, _ = number_kind(field, around)
    near = []
    if field.minimum is not None:
        low = field.minimum
        near.append(st.floats(low - 1, low, exclude_max=True).map(Value))
        good = st.one_of(good, st.floats(low, low + 1).map(Value))
    if field.maximum is not None:
        high = field.maximum
        near.append(st.floats(high, high + 1, exclude_min=True).map(Value))
        good = st.one_of(good, st.floats(high - 1, high).map(Value))
    return Sorts(good, st.one_of(bad, *near))


def choice_kind(field: Choice, around: Around) -> Sorts:
    others = texts(0, 12).filter(lambda text: text not in field.choices)
    bad = st.one_of(other_than("string"), others.map(Value))
    return Sorts(st.sampled_from(field.choices).map(Value), bad)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | texts(0, 8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts(0, 4), inner, max_size=3),
    max_leaves=6,
)


def object_kind(field: Object, around: Around) -> Sorts:
    good = st.dictionaries(texts(0, 8), JSON, max_size=3)
    return Sorts(good.map(Value), other_than("object"))


def with_item(items: st.SearchStrategy[list], item: st.SearchStrategy[Any]) -> st.SearchStrategy:
    """Lists of `items` with `item` put in somewhere: (the list, the item's index)."""

    @st.composite
    def build(draw) -> tuple[list, int]:
        found, extra = list(draw(items)), draw(item)
        at = draw(st.integers(0, len(found)))
        found.insert(at, extra)
        return found, at

    return build()


def names_kind(field: Names, around: Around) -> Sorts:
    items = st.lists(lengths(1, field.max_length), max_size=3)
    wrong = [st.sampled_from([1, "", None, []])]
    if field.max_length is not None:
        wrong.append(longer_than(field.max_length))
    spoilt = with_item(items, st.one_of(wrong)).map(lambda pair: Value(pair[0]))
    return Sorts(items.map(Value), st.one_of(other_than("array"), spoilt))


def timestamp_kind(field: Timestamp, around: Around) -> Sorts:
    """SPEC section 14's moments: an RFC 3339 date-time, the same without its zone (UTC), or a
    date alone (midnight UTC); one pattern (`models.base.MOMENT`) for the schema and the API."""
    zones = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
        lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
    )
    moments = st.datetimes(
        datetime.datetime(1900, 1, 1), datetime.datetime(2200, 1, 1), timezones=zones
    )
    spans = st.sampled_from(("seconds", "milliseconds", "microseconds"))
    zoned = st.tuples(moments, spans).map(lambda pair: pair[0].isoformat(timespec=pair[1]))
    digits = st.text("0123456789", min_size=1, max_size=12)
    good = st.one_of(
        zoned.map(lambda text: text.replace("+00:00", "Z")),
        zoned,
        st.tuples(moments, spans).map(
            lambda pair: pair[0].replace(tzinfo=None).isoformat(timespec=pair[1])
        ),
        st.tuples(moments, digits).map(
            lambda pair: f"{pair[0].isoformat(timespec='seconds')[:19]}.{pair[1]}Z"
        ),
        moments.map(lambda moment: moment.date().isoformat()),
    )
    # ISO-8601 perhaps, but not one of those: a space or lower case, no seconds, `+0100`...
    variants = (
        lambda moment: moment.isoformat().replace("T", " "),
        lambda moment: moment.isoformat().replace("T", "t"),
        lambda moment: moment.astimezone(datetime.UTC).isoformat()[:-6] + "z",
        lambda moment: moment.isoformat(timespec="minutes"),
        lambda moment: moment.replace(tzinfo=None).isoformat(timespec="minutes"),
        lambda moment: moment.isoformat()[:-3] + moment.isoformat()[-2:],
        lambda moment: moment.isoformat()[:-3],
        lambda moment: moment.strftime("%Y%m%dT%H%M%S%z"),
        lambda moment: moment.strftime("%Y%m%d"),
        lambda moment: moment.isoformat(timespec="milliseconds").replace(".", ","),
        lambda moment: moment.isoformat(timespec="seconds")[:19] + ".Z",
        lambda moment: moment.isoformat() + "\n",
        lambda moment: " " + moment.date().isoformat(),
        lambda moment: moment.strftime("%G-W%V-%uT%H:%M:%S%z"),
        lambda moment: moment.strftime("%Y-%j"),
    )
    bad = st.one_of(
        other_than("string"),
        st.sampled_from(["tomorrow", "2026-1-01", "2026-01-01T"]).map(Value),
        *(moments.map(variant).map(Value) for variant in variants),
    )
    # Of the pattern, but naming no moment: a part out of range, or before year 1 or after
    # 9999 once in UTC.
    out_of_range = st.sampled_from(
        [
            "0000-01-01",
            "2026-00-10",
            "2026-13-01",
            "2026-02-30",
            "2025-02-29T12:00:00Z",
            "2026-04-31T00:00:00",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00",
            "2026-06-30T23:59:60Z",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00-99:00",
        ]
    )
    edge = st.tuples(st.integers(1, 23 * 60), st.booleans()).map(
        lambda pair: (
            f"0001-01-01T00:00:00+{pair[0] // 60:02}:{pair[0] % 60:02}"
            if pair[1]
            else f"9999-12-31T23:59:59-{pair[0] // 60:02}:{pair[0] % 60:02}"
        )
    )
    return Sorts(good.map(Value), bad, st.one_of(out_of_range, edge).map(meant))


def members(
    fields: Mapping[str, Field], around: Around, given: Mapping[str, Value] | None = None
) -> st.SearchStrategy[dict[str, Value]]:
    """Good values of `fields`, each optional one there or not, in declaration order (a value
    may depend on the members before it)."""

    @st.composite
    def build(draw) -> dict[str, Value]:
        found = dict(given or {})
        for name, field in fields.items():
            if name in found or (not field.required and draw(st.booleans())):
                continue
            found[name] = draw(sorts_of(field, replace(around, members=found)).good)
        return found

    return build()


def record_of(found: Mapping[str, Value]) -> Value:
    """The members as one object, their planted paths and dependencies under their names."""
    planted = tuple(under(name, path) for name, v in found.items() for path in v.planted)
    relies_on = tuple(dep for v in found.values() for dep in v.relies_on)
    return Value({name: v.value for name, v in found.items()}, planted, relies_on)


def record_kind(field: Record, around: Around) -> Sorts:
    good = members(field.fields, around)
    names = sorted(field.fields)

    def one_changed(sort: str) -> st.SearchStrategy[Value]:
        @st.composite
        def build(draw) -> Value:
            found = draw(good)
            name = draw(st.sampled_from(candidates[sort]))
            found[name] = draw(getattr(sorts_of(field.fields[name], around), sort))
            return record_of(found)

        return build()

    candidates = {
        "bad": names,
        "unstated": [n for n in names if sorts_of(field.fields[n], around).unstated is not None],
    }
    unknown = st.tuples(good, texts(0, 8).filter(lambda key: key not in field.fields)).map(
        lambda pair: Value({**record_of(pair[0]).value, pair[1]: 1})
    )
    required = [n for n in names if field.fields[n].required]
    bad = [other_than("object"), one_changed("bad"), unknown]
    if required:
        missing = st.tuples(good, st.sampled_from(required)).map(
            lambda pair: Value({k: v.value for k, v in pair[0].items() if k != pair[1]})
        )
        bad.append(missing)
    unstated = one_changed("unstated") if candidates["unstated"] else None
    return Sorts(good.map(record_of), st.one_of(bad), unstated)


#: Strategies by the exact class of a field (`tests.llm_step_values` adds the llm step's).
KINDS: dict[type[Field], Kind] = {
    Text: text_kind,
    Integer: integer_kind,
    WholeNumber: whole_number_kind,
    Number: number_kind,
    Choice: choice_kind,
    Object: object_kind,
    Names: names_kind,
    Timestamp: timestamp_kind,
    Record: record_kind,
}


#: Strategies of a `Text` by its rule, a check no schema can state.
RULES: dict[Rule, Kind] = {
    step_type("task").fields["handler"].rule: handler_kind,
    step_type("condition").fields["expression"].rule: expression_kind,
    step_type("condition").fields["trueStep"].rule: step_name_kind,
    step_type("condition").fields["falseStep"].rule: step_name_kind,
}
