"""Checks on an llm step's final answer, built from the step's `guardrails` config.

- `schema_validation {schema?}`: the answer (parsed JSON, or the text) against a JSON Schema;
  the step's `outputSchema` when the guardrail has no `schema`. A step with an `outputSchema`
  and no such guardrail is checked against it all the same (and blocked when it fails).
- `content_safety {blockedTerms?, blockedPatterns?}`: no term (case-insensitive) and no
  regular expression (RE2's syntax, run in linear time) may occur in the answer's text.
- `confidence_threshold {field, threshold}`: the answer is a JSON object whose `field` (a dot
  path) is a number of at least `threshold`.

Each has `onFailure`: `warn`, `block` (the default) or `retry_with_feedback` (ask again with
the reasons, at most `maxRetries` times, default 2 and at most 5, then block).

A step writes them as that list, or as Stevora's `GuardrailConfig`: `{postChecks: [{type,
config?}], onFailure = "warn"}`, one action for every check and each check's fields in its
`config`. `as_checks` turns either into the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

from actors.llm import patterns
from actors.steps.paths import MISSING, walk

SCHEMA = "schema_validation"
WARN, BLOCK, RETRY = "warn", "block", "retry_with_feedback"
ON_FAILURE = (WARN, BLOCK, RETRY)
DEFAULT_ON_FAILURE = BLOCK
#: The action of a `GuardrailConfig` that names none, as Stevora's.
DEFAULT_CONFIG_ON_FAILURE = WARN
DEFAULT_MAX_RETRIES = 2
#: Most times one guardrail may send the model back (SPEC section 5, Limits): each is paid for.
MAX_RETRIES = 5
#: Schema errors reported per answer; more would only make the feedback longer.
MAX_REASONS = 10

#: (answer text, answer value) -> reasons it fails; none when it passes.
Check = Callable[[str, Any], list[str]]


class GuardrailConfigError(ValueError):
    """A guardrail's config cannot be used (an invalid schema or pattern, a missing field)."""


@dataclass(frozen=True)
class Guardrail:
    index: int
    type: str
    on_failure: str
    max_retries: int
    check: Check


@dataclass(frozen=True)
class Violation:
    """A guardrail the answer failed, and why."""

    guardrail: Guardrail
    reasons: tuple[str, ...]

    def as_record(self) -> dict[str, Any]:
        return {
            "guardrail": self.guardrail.type,
            "index": self.guardrail.index,
            "onFailure": self.guardrail.on_failure,
            "reasons": list(self.reasons),
        }


def build(configs: list[dict[str, Any]], output_schema: dict | None) -> list[Guardrail]:
    """The guardrails of a step, ready to check answers.

    A step with an `outputSchema` and no `schema_validation` guardrail gets one that blocks.

    Raises:
      GuardrailConfigError: naming the guardrail (`guardrails[1]`) and what is wrong with it.
    """
    configs = list(configs)
    if output_schema is not None and not any(c.get("type") == SCHEMA for c in configs):
        configs.append({"type": SCHEMA, "onFailure": BLOCK})
    built = []
    for index, config in enumerate(configs):
        try:
            built.append(build_one(index, config, output_schema))
        except GuardrailConfigError as exc:
            raise GuardrailConfigError(f"guardrails[{index}]: {exc}") from None
    return built


def as_checks(guardrails: list[dict[str, Any]] | dict[str, Any] | None) -> list[dict[str, Any]]:
    """A step's guardrails as the list of checks, each with its own fields and `onFailure`."""
    if guardrails is None:
        return []
    if isinstance(guardrails, list):
        return guardrails
    on_failure = guardrails.get("onFailure", DEFAULT_CONFIG_ON_FAILURE)
    return [listed(check, on_failure) for check in guardrails["postChecks"]]


def listed(post_check: dict[str, Any], on_failure: str) -> dict[str, Any]:
    """A `GuardrailConfig`'s check `{type, config?}` as a check of the list form."""
    return {**(post_check.get("config") or {}), "type": post_check["type"], "onFailure": on_failure}


def build_one(index: int, config: dict[str, Any], output_schema: dict | None) -> Guardrail:
    """One guardrail from its config; `GuardrailConfigError` says what is wrong with it."""
    kind = config.get("type")
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise GuardrailConfigError(f"unknown type {kind!r}")
    unknown = sorted(set(config) - COMMON_FIELDS - TYPE_FIELDS[kind])
    if unknown:
        raise GuardrailConfigError(f"unknown field {unknown[0]!r} for {kind}")
    on_failure = config.get("onFailure", DEFAULT_ON_FAILURE)
    if on_failure not in ON_FAILURE:
        raise GuardrailConfigError(f"onFailure must be one of {', '.join(ON_FAILURE)}")
    max_retries = config.get("maxRetries", DEFAULT_MAX_RETRIES)
    if not _is_int(max_retries) or not 0 <= max_retries <= MAX_RETRIES:
        raise GuardrailConfigError(f"maxRetries must be an integer from 0 to {MAX_RETRIES}")
    return Guardrail(index, kind, on_failure, max_retries, factory(config, output_schema))


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a valid JSON Schema whose patterns run in RE2, or None when it is."""
    if not isinstance(schema, dict | bool):
        return "must be a JSON Schema (an object)"
    refused = patterns.pattern_problem(schema)
    if refused is not None:
        return refused
    try:
        patterns.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"is not a valid JSON Schema: {exc.message}"
    return None


def violations(guardrails: list[Guardrail], text: str, value: Any) -> list[Violation]:
    """Every guardrail the answer fails, in the step's order."""
    found = []
    for guardrail in guardrails:
        reasons = guardrail.check(text, value)
        if reasons:
            found.append(Violation(guardrail, tuple(reasons)))
    return found


def feedback(found: list[Violation]) -> str:
    """The message that asks the model to try again."""
    lines = [f"- {v.guardrail.type}: {reason}" for v in found for reason in v.reasons]
    return (
        "Your previous answer did not pass these checks:\n"
        + "\n".join(lines)
        + "\nAnswer again, in full, fixing these problems."
    )


def _schema_validation(config: dict[str, Any], output_schema: dict | None) -> Check:
    schema = config.get("schema", output_schema)
    if schema is None:
        raise GuardrailConfigError("needs `schema` (or the step's outputSchema)")
    problem = schema_problem(schema)
    if problem is not None:
        raise GuardrailConfigError(f"schema {problem}")
    validator = patterns.validator(schema)

    def check(text: str, value: Any) -> list[str]:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"{error.json_path}: {error.message}" for error in errors[:MAX_REASONS]]

    return check


def _content_safety(config: dict[str, Any], output_schema: dict | None) -> Check:
    terms = config.get("blockedTerms", [])
    blocked = config.get("blockedPatterns", [])
    for name, items in (("blockedTerms", terms), ("blockedPatterns", blocked)):
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise GuardrailConfigError(f"{name} must be a list of non-empty strings")
    if not terms and not blocked:
        raise GuardrailConfigError("needs blockedTerms or blockedPatterns")
    try:
        compiled = [patterns.compile_pattern(pattern) for pattern in blocked]
    except patterns.PatternRefused as exc:
        raise GuardrailConfigError(f"blockedPatterns has an invalid expression: {exc}") from None

    def check(text: str, value: Any) -> list[str]:
        lowered = text.casefold()
        reasons = [f"contains the blocked term {t!r}" for t in terms if t.casefold() in lowered]
        reasons += [
            f"matches the blocked pattern /{p.pattern}/" for p in compiled if p.search(text)
        ]
        return reasons

    return check


def _confidence_threshold(config: dict[str, Any], output_schema: dict | None) -> Check:
    field, threshold = config.get("field"), config.get("threshold")
    if not isinstance(field, str) or not field:
        raise GuardrailConfigError("needs `field`, the dot path of a number in the answer")
    if not _is_number(threshold):
        raise GuardrailConfigError("needs a numeric `threshold`")

    def check(text: str, value: Any) -> list[str]:
        found = walk(value, field)
        if found is MISSING:
            return [f"the answer has no field {field!r}"]
        if not _is_number(found):
            return [f"{field} is {found!r}, not a number"]
        if found < threshold:
            return [f"{field} is {found}, below the threshold {threshold}"]
        return []

    return check


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: Fields every guardrail may have, and those of each type.
COMMON_FIELDS = frozenset({"type", "onFailure", "maxRetries"})
TYPE_FIELDS: dict[str, frozenset[str]] = {
    SCHEMA: frozenset({"schema"}),
    "content_safety": frozenset({"blockedTerms", "blockedPatterns"}),
    "confidence_threshold": frozenset({"field", "threshold"}),
}

_FACTORIES: dict[str, Callable[[dict[str, Any], dict | None], Check]] = {
    SCHEMA: _schema_validation,
    "content_safety": _content_safety,
    "confidence_threshold": _confidence_threshold,
}
