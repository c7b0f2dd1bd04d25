"""Where a webhook may be delivered: an http(s) URL whose host resolves to public addresses.

Private, loopback, link-local, unspecified, multicast and other non-global addresses are refused
unless `WEBHOOK_ALLOW_PRIVATE=1`, after DNS resolution, so a name that points inside the network
is refused like the address itself. The API checks a URL when a webhook is created and the
actor again before every attempt; the actor then connects to the address it checked
(`Target.address`), so a name that resolves elsewhere a moment later (DNS rebinding) cannot slip
past the check.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from models.config import settings
from models.errors import StevoraError

#: Longest webhook URL accepted.
MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")


class TargetRefused(StevoraError):
    """A URL Stevora never delivers to: malformed, or resolving to a private address."""


class TargetUnresolved(StevoraError):
    """The URL's host does not resolve now; it may later."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to for it."""

    url: str
    #: The host name (or address) the URL names: the TLS server name the certificate must match.
    hostname: str
    #: The URL's host and port as written: the `Host` header.
    host_header: str
    #: The checked IP address the request goes to.
    address: str


def check_url(url: str) -> tuple[urllib.parse.SplitResult, int]:
    """The parts of a well-formed webhook URL and its port; raise `TargetRefused` with the
    reason if it is not one."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"must be at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise TargetRefused("must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"is not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise TargetRefused("must be an http:// or https:// URL")
    if not parts.hostname:
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials (the signature authenticates Stevora)")
    if parts.fragment:
        raise TargetRefused("must not have a fragment (#...)")
    return parts, port or (443 if parts.scheme == "https" else 80)


def resolve(url: str) -> Target:
    """Check `url`, resolve its host and check every address it resolves to.

    Raises:
      TargetRefused: a malformed URL, or one that resolves to an address that is not public
        while `WEBHOOK_ALLOW_PRIVATE` is off.
      TargetUnresolved: the host does not resolve.
    """
    parts, port = check_url(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise TargetRefused(f"has a host name that is not valid: {parts.hostname!r}") from None
    except OSError as exc:
        raise TargetUnresolved(f"the host {parts.hostname!r} does not resolve: {exc}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise TargetUnresolved(f"the host {parts.hostname!r} has no address")
    if not settings.webhook_allow_private:
        for address in addresses:
            kind = _not_public(ipaddress.ip_address(address))
            if kind is not None:
                raise TargetRefused(
                    f"resolves to {address}, {kind} address; private targets are refused "
                    "unless WEBHOOK_ALLOW_PRIVATE=1"
                )
    return Target(url=url, hostname=parts.hostname, host_header=parts.netloc, address=addresses[0])


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address `ip` is ("a loopback"...); None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_multicast:
        return "a multicast"
    if ip.is_private:
        return "a private"
    if not ip.is_global:
        return "a reserved"
    return None
