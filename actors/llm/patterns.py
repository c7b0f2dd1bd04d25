"""User regular expressions, run by RE2 in time linear in the text (SPEC section 5, Limits).

Python's `re` backtracks: `(a+)+$` over a long answer holds a worker thread, and the GIL, for
as long as it likes, and no time limit can interrupt it. So every pattern a user writes runs
here: a guardrail's `blockedPatterns`, and the `pattern` and `patternProperties` keywords and
the `regex` format of the JSON Schemas that answers and tool arguments are validated against.
A pattern RE2 cannot compile (a backreference, a lookaround) is refused when the definition is
created.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import re2
from jsonschema.protocols import Validator

#: RE2 reports a refused pattern through the exception; its log on stderr would repeat it.
OPTIONS = re2.Options()
OPTIONS.log_errors = False

#: What a refusal adds, since RE2's own messages do not say why the feature is missing.
DIALECT_NOTE = "patterns run in RE2, in linear time, without backreferences or lookaround"


class PatternRefused(ValueError):
    """RE2 cannot compile a user's pattern: a backreference, a lookaround, a syntax error."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"{pattern!r} cannot be compiled: {reason}; {DIALECT_NOTE}")


@dataclass(frozen=True)
class UserPattern:
    """A user's pattern compiled by RE2."""

    pattern: str
    regexp: Any

    def search(self, text: str) -> bool:
        """Whether the pattern occurs anywhere in `text` (`re.search`, not `re.match`)."""
        # RE2 reads UTF-8 bytes; its str API encodes strictly and raises on the lone
        # surrogates a JSON answer may hold ("\ud800"), so those pass as invalid UTF-8.
        return self.regexp.search(text.encode("utf-8", "surrogatepass")) is not None


def compile_pattern(pattern: str) -> UserPattern:
    """`pattern` compiled by RE2; `PatternRefused` says why RE2 cannot run it."""
    try:
        return UserPattern(pattern, re2.compile(pattern, OPTIONS))
    except re2.error as exc:
        raise PatternRefused(pattern, _reason(exc)) from None
    except UnicodeEncodeError:
        raise PatternRefused(pattern, "it holds a lone surrogate, which is not UTF-8") from None


def validator(schema: dict | bool) -> Validator:
    """A validator of `schema` (its `$schema` draft, formats asserted) that matches with RE2."""
    cls = _re2_validator_class(jsonschema.validators.validator_for(schema))
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_schema(schema: dict | bool) -> None:
    """Check `schema` against its draft's meta-schema, `format: regex` meaning RE2's syntax.

    Raises:
      jsonschema.SchemaError: the schema is not valid.
    """
    cls = _re2_validator_class(jsonschema.validators.validator_for(schema))
    cls.check_schema(schema, format_checker=cls.FORMAT_CHECKER)


def pattern_problem(schema: Any) -> str | None:
    """Why `schema` holds a pattern that would not run in RE2, or None when all of them do.

    Every `pattern` string and `patternProperties` key anywhere counts, inside `const` or
    `enum` too: refusing a value that looks like a schema costs less than a pattern that fails
    while a run validates an answer. jsonschema matches `patternProperties` with Python's `re`
    to find the properties `unevaluatedProperties` has not seen, so that pair is refused.
    """
    unevaluated = pattern_properties = False
    for path, node in _objects(schema):
        unevaluated = unevaluated or "unevaluatedProperties" in node
        found = node.get("patternProperties")
        pattern_properties = pattern_properties or isinstance(found, dict)
        patterns = [(f"{path}.pattern", node.get("pattern"))]
        if isinstance(found, dict):
            patterns += [(f"{path}.patternProperties", key) for key in found]
        for where, pattern in patterns:
            if not isinstance(pattern, str):
                continue
            try:
                compile_pattern(pattern)
            except PatternRefused as exc:
                return f"has an invalid pattern at {where}: {exc}"
    if unevaluated and pattern_properties:
        return (
            "combines unevaluatedProperties with patternProperties, which jsonschema would "
            "match with Python's re instead of RE2"
        )
    return None


def _objects(schema: Any) -> Iterator[tuple[str, dict]]:
    """Every object in `schema` with its JSON path, in document order; no recursion, so any
    depth the request parser accepted is walked."""
    stack: list[tuple[str, Any]] = [("$", schema)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            yield path, node
            children = [(f"{path}.{key}", value) for key, value in node.items()]
        elif isinstance(node, list):
            children = [(f"{path}[{index}]", value) for index, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))


def _reason(exc: re2.error) -> str:
    reason = exc.args[0] if exc.args else "RE2 refused it"
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _is_pattern(instance: object) -> bool:
    """The `regex` format: a string RE2 compiles (`PatternRefused` says why not)."""
    if isinstance(instance, str):
        compile_pattern(instance)
    return True


@cache
def _re2_validator_class(base: type[Validator]) -> type[Validator]:
    """`base` with RE2 wherever jsonschema would run a user's pattern with Python's `re`."""
    formats = jsonschema.FormatChecker(base.FORMAT_CHECKER.checkers)
    formats.checks("regex", raises=PatternRefused)(_is_pattern)
    return jsonschema.validators.extend(
        base,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
        format_checker=formats,
    )


# The keywords below are jsonschema's own (`jsonschema._keywords`), matching with RE2.


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Validator, additional: Any, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [compile_pattern(pattern) for pattern in schema.get("patternProperties", {})]
    extras = [
        key
        for key in instance
        if key not in properties and not any(pattern.search(key) for pattern in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        names = ", ".join(repr(extra) for extra in sorted(extras))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            regexes = ", ".join(repr(pattern) for pattern in sorted(schema["patternProperties"]))
            yield jsonschema.ValidationError(
                f"{names} {verb} not match any of the regexes: {regexes}"
            )
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield jsonschema.ValidationError(
                f"Additional properties are not allowed ({names} {verb} unexpected)"
            )
