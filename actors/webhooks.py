"""Webhook deliveries: the actor that makes one attempt, and the clock's claim of due ones.

The delivery row is the truth (`models.webhooks`); `deliver_webhook(delivery_id, attempt)` is
the command to make that attempt. The actor takes it only while the delivery is pending with
`attempt - 1` attempts made (the fence), so a repeated or late message does nothing. The
attempt is counted and logged before the POST and its outcome recorded after, each in its own
short transaction: no transaction stays open across the HTTP call. A failed attempt sets the
delivery's `next_attempt_at` (exponential backoff with jitter) and the clock sends the next one
when it is due; a worker that dies mid-attempt leaves that attempt without an outcome, and the
clock sends the next one once the lease runs out.
"""

from __future__ import annotations

import datetime
import functools
import logging
import random
import ssl
import time
import urllib.parse
from dataclasses import dataclass

import dramatiq
import httpx

from actors.webhook_targets import TargetRefused, TargetUnresolved, resolve
from models import config
from models.base import utcnow
from models.webhook_signatures import HEADER, sign
from models.webhooks import (
    StartedAttempt,
    claim_due_deliveries,
    record_outcome,
    start_attempt,
)

logger = logging.getLogger(__name__)

#: Longest delay between two attempts, in seconds.
MAX_BACKOFF_S = 3600
#: Each delay is stretched by up to this fraction, at random, so that the deliveries a receiver
#: failed during an outage do not all come back at the same moment.
JITTER = 0.2
#: Time to connect to a receiver, and to wait for each read or write once connected.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Stevora-Webhooks/1"
#: Most deliveries one clock tick sends; the rest wait for the next tick.
BATCH = 500


@dataclass(frozen=True)
class DeliveryCommand:
    """What a due delivery asks for: its next attempt."""

    delivery_id: str
    attempt: int

    def send(self) -> None:
        deliver_webhook.send(self.delivery_id, self.attempt)


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    #: Why the attempt failed; None when the receiver answered 2xx.
    error: str | None
    duration_ms: int
    #: False when no later attempt can do better (the target is refused).
    retryable: bool = True


@dramatiq.actor(queue_name="webhooks", max_retries=5, time_limit=60_000)
def deliver_webhook(delivery_id: str, attempt: int) -> None:
    """Make attempt number `attempt` of a delivery, if the delivery still waits for it."""
    lease = datetime.timedelta(milliseconds=config.current().redrive_after_ms)
    started = start_attempt(delivery_id, attempt, config.current().webhook_max_attempts, lease)
    if started is None:
        return
    outcome = _post(started)
    _record(started, outcome)


def due_deliveries(now: datetime.datetime | None = None) -> list[DeliveryCommand]:
    """Claim the due deliveries (pushing each one redrive interval ahead) for the clock."""
    now = now or utcnow()
    again = now + datetime.timedelta(milliseconds=config.current().redrive_after_ms)
    claimed = claim_due_deliveries(now, BATCH, again)
    return [DeliveryCommand(delivery_id, attempts + 1) for delivery_id, attempts in claimed]


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` before the next one."""
    delay = min(MAX_BACKOFF_S, config.current().webhook_backoff_ms / 1000 * 2 ** (attempt - 1))
    return min(MAX_BACKOFF_S, delay * (1 + random.random() * JITTER))


def _post(claim: StartedAttempt) -> _Outcome:
    """POST the signed body to the checked address; redirects are not followed."""
    started = time.monotonic()
    try:
        target = resolve(claim.url)
    except TargetRefused as exc:
        return _Outcome(None, f"target refused, no request made: the URL {exc}", 0, False)
    except TargetUnresolved as exc:
        return _Outcome(None, str(exc), _since(started))
    body = claim.body.encode("utf-8")
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER: sign(claim.secret, body),
        "Stevora-Event": claim.event_type,
        "Stevora-Delivery": claim.delivery_id,
    }
    try:
        url = httpx.URL(target.url).copy_with(host=target.address)
    except httpx.InvalidURL as exc:
        return _Outcome(None, f"the URL cannot be requested: {exc}", 0, False)
    try:
        # A client per attempt: a pooled connection made for one host name must never carry
        # a request for another host name at the same address.
        with (
            httpx.Client(
                verify=_tls(), timeout=TIMEOUT, follow_redirects=False, trust_env=False
            ) as client,
            client.stream(
                "POST",
                url,
                content=body,
                headers=headers,
                extensions={"sni_hostname": target.hostname},
            ) as response,
        ):
            status = response.status_code
    except httpx.HTTPError as exc:
        return _Outcome(None, f"{type(exc).__name__}: {exc or 'no detail'}", _since(started))
    duration = _since(started)
    if 200 <= status < 300:
        return _Outcome(status, None, duration)
    error = f"the receiver answered {status}"
    if 300 <= status < 400:
        error += "; redirects are not followed"
    return _Outcome(status, error, duration)


def _record(claim: StartedAttempt, outcome: _Outcome) -> None:
    """Log the attempt's outcome and decide the delivery: succeeded, again later, or failed."""
    retry_in = None
    failed = outcome.error is not None
    if failed and outcome.retryable and claim.attempt < config.current().webhook_max_attempts:
        retry_in = datetime.timedelta(seconds=backoff(claim.attempt))
    record_outcome(claim, outcome.status_code, outcome.error, outcome.duration_ms, retry_in)
    if failed:
        logger.info(
            "webhook delivery %s to %s, attempt %d failed: %s",
            claim.delivery_id,
            _origin(claim.url),
            claim.attempt,
            outcome.error,
        )


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's certificate checks, built once per process (building them costs ~100 ms)."""
    return httpx.create_ssl_context()


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _origin(url: str) -> str:
    """Scheme and host of a URL, for logs: paths may carry tokens."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
