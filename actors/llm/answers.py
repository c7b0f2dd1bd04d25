"""Reading a JSON answer out of a model's text: bare, in a fenced code block, or in prose."""

from __future__ import annotations

import json
import re
from typing import Any

from models.documents import MAX_DEPTH, nests_deeper_than

#: A Markdown code fence, with or without a language tag.
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n(.*?)```", re.DOTALL)


class AnswerNotJson(ValueError):
    """The answer holds no JSON value."""


def parse_json(text: str) -> Any:
    """The JSON value in `text`.

    Tried in order: the whole text; each fenced code block; the first object or array that
    starts somewhere in the text ("Here it is: {...}"). An answer nesting deeper than a run's
    documents may is refused before it is decoded (decoding it would exhaust the recursion).
    """
    if nests_deeper_than(text, MAX_DEPTH):
        raise AnswerNotJson(
            f"the answer nests arrays and objects more than {MAX_DEPTH} levels deep"
        )
    candidates = [text.strip()] + [block.strip() for block in _FENCE.findall(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        return value
    raise AnswerNotJson(f"the answer is not JSON: {text[:100]!r}")
