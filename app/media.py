"""Request bodies: JSON only, at most 1 MiB, refused before they are read when too large.

`BodyLimits` checks the headers of every request; `read_object` reads a body (never more than
the limit, even without a Content-Length, nor nested deeper than the limit, nor holding a number
beyond a double's range) and returns it as a JSON object.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import falcon

from app.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from models.documents import MAX_DEPTH, nests_deeper_than, unstorable
from models.validation import Fields, Problems

#: Largest request body accepted (SPEC section 1).
MAX_BODY_BYTES = 1024 * 1024

#: Deepest nesting of arrays and objects a body may have (`models.documents`), checked on the
#: text before it is parsed.
MAX_JSON_DEPTH = MAX_DEPTH

#: A `\u` escape of a UTF-16 surrogate (a pair decodes to one character, a lone one stays).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

#: The largest magnitude a double holds: an integer beyond it reaches no worker intact (and
#: its float, infinity, is not JSON).
_MAX_DOUBLE = int(sys.float_info.max)


class NumberOutOfRange(ValueError):
    """A JSON number beyond a double's range (`1e999`): PostgreSQL cannot store its float."""


class BodyLimits:
    """Falcon middleware: 413 for a body over the limit, 415 for a body that is not JSON."""

    def __init__(self, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_bytes = max_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        length = req.content_length
        if length is not None and length > self.max_bytes:
            raise PayloadTooLarge(f"the request body must be at most {self.max_bytes} bytes")
        has_body = bool(length) or req.get_header("Transfer-Encoding") is not None
        if has_body and not is_json(req.content_type):
            raise UnsupportedMediaType(
                "the request body must be JSON (Content-Type: application/json)"
            )


def is_json(content_type: str | None) -> bool:
    """True for `application/json`, with or without parameters such as a charset."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == falcon.MEDIA_JSON


def read_object(
    req: falcon.Request, max_bytes: int = MAX_BODY_BYTES, *, required: bool = True
) -> dict[str, Any]:
    """Read the body as a JSON object; 400 when it is malformed, not an object, or missing
    (unless not `required`: then a missing body reads as `{}`)."""
    data = _read(req, max_bytes)
    if not data.strip():
        if not required:
            return {}
        raise ValidationError("a JSON object body is required")
    try:
        text = data.decode("utf-8")
        if nests_deeper_than(text, MAX_JSON_DEPTH):
            raise ValidationError(
                f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"
            )
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_float, parse_int=_int)
    except NumberOutOfRange as exc:
        raise ValidationError(str(exc)) from None
    except ValueError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    if ("\\u0000" in text or _SURROGATE_ESCAPE.search(text)) and unstorable(body):
        raise ValidationError(
            "the body must not contain NUL characters (\\u0000) or unpaired surrogates"
            " (\\ud800-\\udfff)"
        )
    return body


def read_no_fields(req: falcon.Request) -> None:
    """For calls that take no parameters: no body, or `{}`; any member is 400."""
    problems = Problems()
    Fields(problems, read_object(req, required=False)).only(())
    problems.raise_if_any("this call takes no body fields")


def _read(req: falcon.Request, max_bytes: int) -> bytes:
    if req.content_length is not None:
        # BodyLimits has already refused a Content-Length over the limit, and
        # bounded_stream never reads past the Content-Length.
        return req.bounded_stream.read()
    if not req.env.get("wsgi.input_terminated"):
        # Without a length the server must promise the stream ends (chunked
        # bodies under gunicorn); otherwise reading could block: no body.
        return b""
    data = req.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the request body must be at most {max_bytes} bytes")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise NumberOutOfRange(_beyond(literal))
    return value


def _int(literal: str) -> int:
    value = int(literal)
    if abs(value) > _MAX_DOUBLE:
        raise NumberOutOfRange(_beyond(literal))
    return value


def _beyond(literal: str) -> str:
    """The message for `literal`, quoted whole when short, by its first digits when long."""
    shown = literal if len(literal) <= 20 else f"{literal[:12]}... ({len(literal)} characters)"
    return f"the body holds {shown}, a number beyond the range of a double"
