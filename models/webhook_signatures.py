"""Webhook signatures: how Stevora signs a delivery and how a receiver checks one.

The header is `Stevora-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`; the HMAC key is the
webhook's whole secret (`whsec_...`, as UTF-8) and the message is `<t>.<raw body>`. A receiver
verifies over the raw bytes of the request body, before parsing them, and refuses a timestamp
far from its own clock so that a captured request cannot be replayed later.

This module uses the standard library only: a receiver written in Python may import it or copy
it whole.
"""

from __future__ import annotations

import hashlib
import hmac
import time

#: The header that carries the signature.
HEADER = "Stevora-Signature"
#: How far (seconds) a signature's timestamp may be from the receiver's clock, by default.
DEFAULT_TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` keyed with `secret`."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, timestamp: int | None = None) -> str:
    """The `Stevora-Signature` header value for `body`, signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when `header` holds a `v1` signature of `body` made with `secret`, timestamped
    within `tolerance_s` seconds of `now` (the current time by default).

    Every `v1` in the header is tried, in constant time each: a receiver keeps working while a
    signer sends more than one.
    """
    if not header:
        return False
    timestamp, candidates = _parse(header)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8"))
    return matched


def _parse(header: str) -> tuple[int | None, list[str]]:
    """`(t, [v1, ...])` from `t=...,v1=...`; t is None when missing or not an integer."""
    timestamp = None
    candidates = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    return timestamp, candidates
