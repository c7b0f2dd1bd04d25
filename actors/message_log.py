"""How messages and the values in them appear in log lines: cut short, whatever their size.

A signal's payload may be 256 KiB, and another service writes every byte of a message on the
signals queue. Dramatiq writes a whole message into its log lines (`str(message)`) and a whole
undecodable body into its decode errors; `BriefMessage` and `BriefJSONEncoder` give it short
ones instead, always with the message id, and `brief` bounds what our own lines quote.
"""

from __future__ import annotations

import dataclasses
import reprlib
from itertools import islice
from typing import Any

from dramatiq import Message
from dramatiq.brokers.rabbitmq import _RabbitmqMessage
from dramatiq.encoder import JSONEncoder
from dramatiq.errors import DecodeError

#: Most characters of a message, or of one value, a log line quotes.
MAX_LOGGED_CHARS = 500
#: Most characters of a message id a log line quotes (Dramatiq's own are 36).
MAX_LOGGED_ID = 64
#: Most arguments of a message a log line lists.
MAX_LOGGED_ARGUMENTS = 8

_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlong = 40
_REPR.maxlevel = 3
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 6


def cut(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """`text`, or its start and how long it was when it is longer than `limit`."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text)} characters)"


def brief(value: Any, limit: int = MAX_LOGGED_CHARS) -> str:
    """A short `repr` of `value`: long strings, deep or wide containers elided."""
    return cut(_REPR.repr(value), limit)


def describe(message: Any) -> str:
    """`actor(arg, name=value)`, each argument elided and the whole cut, then the message id."""
    args = message.args if isinstance(message.args, tuple | list) else (message.args,)
    kwargs = message.kwargs if isinstance(message.kwargs, dict) else {"kwargs": message.kwargs}
    shown = [_REPR.repr(arg) for arg in islice(args, MAX_LOGGED_ARGUMENTS)]
    shown += [
        f"{cut(str(name), 40)}={_REPR.repr(value)}"
        for name, value in islice(kwargs.items(), MAX_LOGGED_ARGUMENTS)
    ]
    if len(args) + len(kwargs) > MAX_LOGGED_ARGUMENTS:
        shown.append("...")
    call = cut(f"{cut(str(message.actor_name), 100)}({', '.join(shown)})")
    return f"{call} [message {message_id(message)}]"


def message_id(message: Any) -> str:
    """The message's id as a log line quotes it."""
    return cut(str(message.message_id), MAX_LOGGED_ID)


class BriefMessage(_RabbitmqMessage):
    """A message from RabbitMQ that Dramatiq's log lines show by `describe`."""

    def __str__(self) -> str:
        return describe(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {describe(self)}>"


class BriefJSONEncoder(JSONEncoder):
    """Dramatiq's JSON encoder, whose decode errors quote at most the start of the body.

    It also refuses a body that is not a JSON object of a message's fields: Dramatiq would
    fail on it anyway, with an error that quotes the unknown field whole.
    """

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            fields = super().decode(data)
        except DecodeError as exc:
            reason = f"{type(exc.error).__name__}: {cut(str(exc.error), 200)}"
            raise DecodeError(
                f"failed to decode message {brief(data)}: {reason}", exc.data, exc.error
            ) from None
        if not isinstance(fields, dict):
            raise DecodeError(f"a message must be a JSON object, not {brief(fields)}", data, None)
        unknown = set(fields) - _MESSAGE_FIELDS
        if unknown:
            raise DecodeError(f"unknown message fields {brief(sorted(unknown))}", data, None)
        return fields


_MESSAGE_FIELDS = frozenset(field.name for field in dataclasses.fields(Message))
