"""A run's concurrency key (SPEC section 9): its definition's `concurrency.key`, a template
over the run's input, rendered as text; "" for a limit without a key."""

from __future__ import annotations

import json
from typing import Any

from actors.steps.templates import TemplateError, render
from models.concurrency import MAX_KEY_LENGTH


class KeyUnrendered(ValueError):
    """The input does not give the definition's concurrency key a value."""


def concurrency_key(concurrency: dict | None, run_input: dict[str, Any]) -> str | None:
    """The key of a run with this input; None when the definition has no limit.

    Raises `KeyUnrendered` when a template names nothing in the input, or the key is longer
    than `MAX_KEY_LENGTH`.
    """
    if concurrency is None:
        return None
    template = concurrency.get("key")
    if template is None:
        return ""
    try:
        value = render(template, run_input, {})
    except TemplateError as exc:
        raise KeyUnrendered(f"the concurrency key {template!r}: {exc}") from None
    key = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(key) > MAX_KEY_LENGTH:
        raise KeyUnrendered(f"the concurrency key renders to more than {MAX_KEY_LENGTH} characters")
    return key
