"""Public ids: a type prefix and a 26-character lowercase ULID, time-sortable."""

from __future__ import annotations

import re
import threading

from ulid import ULID

PREFIXES = ("ws", "key", "wfdef", "wfrun", "srun", "evt", "apr", "sig", "wh", "whd", "llm", "sch")

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_PATTERN = re.compile(r"^(?P<prefix>[a-z]+)_[0-9a-hjkmnp-tv-z]{26}$")

_lock = threading.Lock()
_last = 0


def _monotonic_ulid() -> int:
    # Ids minted by one process strictly increase, even within one millisecond, so
    # rows written in sequence (a run's events) sort in the order they were written.
    global _last
    with _lock:
        candidate = int(ULID())
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
        return candidate


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """Mint a new id such as `wfrun_01jd...`."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{_encode(_monotonic_ulid())}"


def is_id(value: object, prefix: str) -> bool:
    """True when `value` is a well-formed id of the given type."""
    if not isinstance(value, str):
        return False
    match = _PATTERN.match(value)
    return match is not None and match.group("prefix") == prefix
