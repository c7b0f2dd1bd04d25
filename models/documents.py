"""The JSON documents a run keeps (input, state, outputs, payloads): what PostgreSQL can store.

One definition of the limits for the API, the signal actor and the workers: at most 256 KiB as
compact UTF-8 JSON, at most 64 levels of arrays and objects, and nothing jsonb refuses (NaN and
infinities, U+0000, lone surrogates) or Python cannot copy without deep recursion.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

#: Largest serialized run input, signal payload or state (SPEC section 1).
MAX_DOCUMENT_BYTES = 256 * 1024
#: Deepest nesting of arrays and objects: deeper documents break Python's recursion (copying a
#: run's state in every step, encoding it) long before they reach PostgreSQL.
MAX_DEPTH = 64
#: Longest error message a step records.
MAX_MESSAGE_CHARS = 2000

_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
#: A JSON string literal (possessive: linear time on any text), and what is not a bracket.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


def serialized_size(document: Any) -> int:
    """Bytes of a document as compact UTF-8 JSON: what the size limits measure."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def unstorable(document: Any) -> str | None:
    """Why PostgreSQL's jsonb (or a worker) cannot keep `document`, or None when it can: a
    phrase that follows the document's name ("payload holds NUL...").

    Walks the document without recursion, so any depth is answered, not crashed on.
    """
    pending = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE_TEXT.search(value):
                return "holds NUL (\\u0000) or a lone surrogate"
        elif isinstance(value, float):
            if not math.isfinite(value):
                return f"holds {value}, which is not a JSON number"
        elif isinstance(value, bool | int) or value is None:
            continue
        elif isinstance(value, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"nests more than {MAX_DEPTH} levels deep"
            if isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        return f"has an object key that is a {type(key).__name__}, not a string"
                pending.extend((key, depth + 1) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
        else:
            return f"holds a {type(value).__name__}, which is not a JSON value"
    return None


def storable_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` as PostgreSQL can keep it: NUL and lone surrogates replaced, at most `limit`."""
    cleaned = _UNSTORABLE_TEXT.sub("\ufffd", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def nests_deeper_than(text: str, limit: int) -> bool:
    """True when the JSON `text` nests arrays and objects more than `limit` levels deep.

    Counts brackets outside string literals, without parsing: linear, no recursion.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return any(depth > limit for depth in itertools.accumulate(map(_NESTING.get, brackets)))
