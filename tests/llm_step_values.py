"""Strategies of the llm step's own kinds of field (`actors.llm.fields`), added to
`tests.step_values.KINDS`: messages, JSON Schemas, tools and guardrails, in both of Stevora's
forms. The guardrail types come from `actors.llm.guardrails`; one without strategies here fails.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from actors.llm import guardrails as checks
from actors.llm.fields import MESSAGE_ROLES, Guardrails, JsonSchema, Messages, Tools
from actors.registry import TOOL_NAME, is_tool, load_handler_modules
from tests.step_values import (
    KINDS,
    Around,
    Sorts,
    Value,
    lengths,
    meant,
    other_than,
    texts,
    with_item,
)

#: Tools a good value names, registered by the suite's handler module.
TOOLS = ("get_weather", "broken_sensor", "forbidden", "lookup")
load_handler_modules(("harness.handlers",))
assert all(map(is_tool, TOOLS))

#: JSON Schemas the worker can use, and some it cannot: invalid, or with a pattern RE2 refuses.
USABLE_SCHEMAS = (
    {},
    {"type": "object"},
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^a+$"}}},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    {"patternProperties": {"^x-": {"type": "number"}}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
)
UNUSABLE_SCHEMAS = (
    {"type": "string", "pattern": "(a)\\1"},
    {"properties": {"a": {"pattern": "(?=x)"}}},
    {"patternProperties": {"(?<=a)b": {}}},
    {"unevaluatedProperties": False, "patternProperties": {"^a": {}}},
    {"type": "nonsense"},
    {"minLength": -1},
)
#: Patterns RE2 runs, and some it refuses (a backreference, lookaround, bad syntax).
GOOD_PATTERNS = ("^a+$", "secret", "[0-9]{4}", "(?i)password")
REFUSED_PATTERNS = ("(a)\\1", "(?=x)", "(?<!a)b", "[")


def messages_kind(field: Messages, around: Around) -> Sorts:
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(MESSAGE_ROLES), "content": lengths(0, None)}
    )
    spoilt_message = st.one_of(
        st.sampled_from([1, "hello", None, []]),
        message.map(lambda m: {"role": m["role"]}),
        message.map(lambda m: {"content": m["content"]}),
        st.tuples(message, texts(0, 10).filter(lambda r: r not in MESSAGE_ROLES)).map(
            lambda pair: {**pair[0], "role": pair[1]}
        ),
        message.map(lambda m: {**m, "content": 5}),
        message.map(lambda m: {**m, "name": "bob"}),
    )
    good = st.lists(message, min_size=1, max_size=3)
    bad = st.one_of(
        other_than("array"),
        st.just(Value([])),
        with_item(st.lists(message, max_size=2), spoilt_message).map(lambda pair: Value(pair[0])),
    )
    return Sorts(good.map(Value), bad)


def json_schema_kind(field: JsonSchema, around: Around) -> Sorts:
    unusable = st.sampled_from(UNUSABLE_SCHEMAS).map(meant)
    return Sorts(st.sampled_from(USABLE_SCHEMAS).map(Value), other_than("object"), unusable)


def tool_item(name: str) -> st.SearchStrategy[Any]:
    """A registered tool, named as a string or as an `LlmToolDef`."""
    definition = st.fixed_dictionaries(
        {"name": st.just(name)},
        optional={"description": texts(0, 20), "parameters": st.sampled_from(USABLE_SCHEMAS)},
    )
    return st.one_of(st.just(name), definition)


def tools_kind(field: Tools, around: Around) -> Sorts:
    chosen = st.lists(st.sampled_from(TOOLS), unique=True, max_size=3)
    good = chosen.flatmap(lambda names: st.tuples(*map(tool_item, names)).map(list))
    named = st.sampled_from(TOOLS)
    wrong = st.one_of(
        st.sampled_from(["", 1, None, [], True]),
        st.sampled_from(["", "bad name", "x" * 65, "lookup\n", "é", 5, None]).map(
            lambda name: {"name": name}
        ),
        st.just({"description": "no name"}),
        named.map(lambda name: {"name": name, "strict": True}),
        named.map(lambda name: {"name": name, "description": 5}),
        named.map(lambda name: {"name": name, "parameters": "none"}),
    )
    spoilt = with_item(good, wrong).map(lambda pair: Value(pair[0]))

    # A name item is any non-empty string to the schema; a name member must be a TOOL_NAME.
    unregistered = st.from_regex(TOOL_NAME, fullmatch=True).filter(lambda n: not is_tool(n))
    unknown = st.one_of(
        texts(1, 20).filter(lambda name: not is_tool(name)),
        unregistered.map(lambda name: {"name": name}),
    )
    unusable = st.tuples(named, st.sampled_from(UNUSABLE_SCHEMAS)).map(
        lambda pair: [{"name": pair[0], "parameters": pair[1]}]
    )

    def twice(items: list) -> st.SearchStrategy[Value]:
        """The first tool offered again at the end (the API names the second offer)."""
        first = items[0] if isinstance(items[0], str) else items[0]["name"]
        return tool_item(first).map(lambda item: meant([*items, item], f"[{len(items)}]"))

    unstated = st.one_of(
        with_item(good, unknown).map(lambda pair: meant(pair[0], f"[{pair[1]}]")),
        unusable.map(lambda items: meant(items, "[0]")),
        good.filter(bool).flatmap(twice),
    )
    return Sorts(good.map(Value), st.one_of(other_than("array"), spoilt), unstated)


#: The own fields of each guardrail type: good ones; ones the list form's schema refuses; and
#: ones no check can be built of though the schema takes them (in a `GuardrailConfig`, whose
#: `config` is any object, every type has some).
GOOD_FIELDS: dict[str, st.SearchStrategy[dict]] = {
    "schema_validation": st.fixed_dictionaries(
        {"schema": st.one_of(st.sampled_from(USABLE_SCHEMAS), st.booleans())}
    ),
    "content_safety": st.one_of(
        st.fixed_dictionaries(
            {"blockedTerms": st.lists(texts(1, 10), min_size=1, max_size=2)},
            optional={"blockedPatterns": st.lists(st.sampled_from(GOOD_PATTERNS), max_size=2)},
        ),
        st.fixed_dictionaries(
            {"blockedPatterns": st.lists(st.sampled_from(GOOD_PATTERNS), min_size=1, max_size=2)},
            optional={"blockedTerms": st.lists(texts(1, 10), max_size=2)},
        ),
    ),
    "confidence_threshold": st.fixed_dictionaries(
        {"field": texts(1, 10), "threshold": st.floats(0, 1) | st.integers(-5, 5)}
    ),
}
REFUSED_FIELDS: dict[str, tuple[dict, ...]] = {
    "schema_validation": ({"schema": 5}, {"schema": None}),
    "content_safety": (
        {},
        {"blockedTerms": [], "blockedPatterns": []},
        {"blockedTerms": [""]},
        {"blockedPatterns": [7]},
    ),
    "confidence_threshold": (
        {"field": "confidence"},
        {"field": "", "threshold": 1},
        {"field": "confidence", "threshold": "high"},
        {"field": "confidence", "threshold": True},
    ),
}
UNBUILDABLE_LISTED: dict[str, tuple[dict, ...]] = {
    "schema_validation": tuple({"schema": schema} for schema in UNUSABLE_SCHEMAS),
    "content_safety": tuple({"blockedPatterns": [p]} for p in REFUSED_PATTERNS),
    "confidence_threshold": (),
}
UNBUILDABLE_CONFIG: dict[str, tuple[dict, ...]] = {
    **UNBUILDABLE_LISTED,
    "content_safety": ({}, *UNBUILDABLE_LISTED["content_safety"], {"blockedTerms": [""]}),
    "confidence_threshold": ({"field": "confidence"}, {"threshold": 0.5}, {"field": 1}),
}
for table in (GOOD_FIELDS, REFUSED_FIELDS, UNBUILDABLE_LISTED, UNBUILDABLE_CONFIG):
    assert set(table) == set(checks.TYPE_FIELDS), "a guardrail type has no strategies"


def guardrails_kind(field: Guardrails, around: Around) -> Sorts:
    """Both forms: a list of checks, and a `GuardrailConfig` of `postChecks`."""
    kinds = st.sampled_from(tuple(checks.TYPE_FIELDS))
    actions = st.sampled_from(checks.ON_FAILURE)
    # A schema check with no schema of its own uses the step's outputSchema, if it is usable.
    output_schema = around.members.get("outputSchema")
    leans = output_schema is not None and not output_schema.planted
    relies_on = ((around.index, "outputSchema"),) if leans else ()
    retries = st.integers(0, checks.MAX_RETRIES)

    def own(kind: str) -> st.SearchStrategy[dict]:
        if kind == checks.SCHEMA and leans:
            return st.one_of(GOOD_FIELDS[kind], st.just({}))
        return GOOD_FIELDS[kind]

    def unbuildable(table: dict[str, tuple[dict, ...]]) -> st.SearchStrategy[tuple[str, dict]]:
        found = [(kind, fields) for kind, rows in table.items() for fields in rows]
        if not leans:
            found.append((checks.SCHEMA, {}))
        return st.sampled_from(found)

    def listed_check(kind: str) -> st.SearchStrategy[dict]:
        common = st.fixed_dictionaries({}, optional={"onFailure": actions, "maxRetries": retries})
        return st.tuples(own(kind), common).map(lambda pair: {"type": kind, **pair[0], **pair[1]})

    def post_check(kind: str) -> st.SearchStrategy[dict]:
        config = st.tuples(own(kind), st.fixed_dictionaries({}, optional={"maxRetries": retries}))
        written = config.map(lambda pair: {"type": kind, "config": {**pair[0], **pair[1]}})
        if kind == checks.SCHEMA and leans:
            return st.one_of(written, st.just({"type": kind}))
        return written

    listed = kinds.flatmap(listed_check)
    post_checks = st.lists(kinds.flatmap(post_check), max_size=3)
    config = st.fixed_dictionaries({"postChecks": post_checks}, optional={"onFailure": actions})
    good = st.one_of(st.lists(listed, max_size=3), config).map(
        lambda value: Value(value, relies_on=relies_on)
    )

    # What the schema refuses: in a check of the list, in a post check, in the config itself.
    refused_check = st.one_of(
        st.sampled_from([1, "block", None]),
        texts(0, 10).filter(lambda k: k not in checks.TYPE_FIELDS).map(lambda k: {"type": k}),
        listed.map(lambda c: {**c, "onFailure": "never"}),
        st.tuples(listed, st.sampled_from([-1, checks.MAX_RETRIES + 1, "2"])).map(
            lambda pair: {**pair[0], "maxRetries": pair[1]}
        ),
        listed.map(lambda c: {**c, "config": {}}),
        kinds.flatmap(lambda k: st.sampled_from(REFUSED_FIELDS[k]).map(lambda f: {"type": k, **f})),
    )
    refused_post_check = st.one_of(
        st.sampled_from([1, "block", None, {"type": "nope", "config": {}}]),
        kinds.map(lambda k: {"type": k, "config": "none"}),
        kinds.flatmap(post_check).map(lambda c: {**c, "onFailure": "warn"}),
    )
    refused = [
        {"onFailure": "warn"},
        {"postChecks": "all"},
        {"postChecks": [], "onFailure": "never"},
        {"postChecks": [], "then": 1},
    ]
    bad = st.one_of(
        st.sampled_from([None, True, 3, "block", {}, *refused]).map(Value),
        with_item(st.lists(listed, max_size=2), refused_check).map(lambda p: Value(p[0])),
        with_item(post_checks, refused_post_check).map(lambda p: Value({"postChecks": p[0]})),
    )

    # What the schema takes and no check can be built of.
    # maxRetries written with a fraction (`2.0`) is an integer to JSON Schema, not to the API.
    unbuildable_check = st.one_of(
        unbuildable(UNBUILDABLE_LISTED).map(lambda pair: {"type": pair[0], **pair[1]}),
        st.tuples(listed, retries).map(lambda pair: {**pair[0], "maxRetries": float(pair[1])}),
    )
    unbuildable_post_check = st.one_of(
        unbuildable(UNBUILDABLE_CONFIG).map(lambda pair: {"type": pair[0], "config": pair[1]}),
        st.tuples(
            kinds.flatmap(post_check), st.sampled_from([{"onFailure": "block"}, {"x": 1}])
        ).map(lambda pair: {**pair[0], "config": {**pair[0].get("config", {}), **pair[1]}}),
        st.tuples(
            kinds.flatmap(post_check), st.sampled_from([-1, checks.MAX_RETRIES + 1, "2"])
        ).map(
            lambda pair: {**pair[0], "config": {**pair[0].get("config", {}), "maxRetries": pair[1]}}
        ),
    )
    unstated = st.one_of(
        with_item(st.lists(listed, max_size=2), unbuildable_check).map(
            lambda pair: Value(pair[0], (f"[{pair[1]}]",), relies_on)
        ),
        st.tuples(with_item(post_checks, unbuildable_post_check), actions).map(
            lambda pair: Value(
                {"postChecks": pair[0][0], "onFailure": pair[1]},
                (f"postChecks[{pair[0][1]}]",),
                relies_on,
            )
        ),
    )
    return Sorts(good, bad, unstated)


KINDS.update(
    {
        Messages: messages_kind,
        JsonSchema: json_schema_kind,
        Tools: tools_kind,
        Guardrails: guardrails_kind,
    }
)
