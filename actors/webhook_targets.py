"""Where a webhook may be delivered: an http(s) URL whose host resolves to public addresses.

Private, loopback, link-local, unspecified, multicast and other non-global addresses are refused
unless `WEBHOOK_ALLOW_PRIVATE=1`, after DNS resolution, so a name that points inside the network
is refused like the address itself. An IPv6 address that carries an IPv4 one (IPv4-mapped,
NAT64's well-known prefix, 6to4) is judged by the IPv4 address it leads to; the local-use NAT64
prefix and deprecated IPv4-compatible addresses are refused whatever they carry.

The API checks a URL when a webhook is created and the actor again before every attempt; the
actor then connects to the address it checked (`Target.address`), so a name that resolves
elsewhere a moment later (DNS rebinding) cannot slip past the check.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from models import config
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
    if not config.current().webhook_allow_private:
        for address in addresses:
            kind = not_public(ipaddress.ip_address(address))
            if kind is not None:
                raise TargetRefused(
                    f"resolves to {address}, {kind} address; private targets are refused "
                    "unless WEBHOOK_ALLOW_PRIVATE=1"
                )
    return Target(url=url, hostname=parts.hostname, host_header=parts.netloc, address=addresses[0])


def not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address `ip` is ("a loopback"...); None for a public one.

    An address carrying an IPv4 address is what that address is: `::ffff:127.0.0.1` is "an
    IPv4-mapped address of 127.0.0.1, a loopback".
    """
    if isinstance(ip, ipaddress.IPv6Address):
        for network, kind in _REFUSED_V6:
            if ip in network:
                return kind
        carried = _carried_ipv4(ip)
        if carried is not None:
            kind, ipv4 = carried
            judged = not_public(ipv4)
            return None if judged is None else f"{kind} address of {ipv4}, {judged}"
    elif any(ip in network for network in _REFUSED_V4):
        return "an IETF protocol"
    return _stdlib_kind(ip)


#: IPv6 ranges refused whatever they carry: the local-use NAT64 prefix (RFC 8215) translates
#: inside the network by definition; IPv4-compatible addresses are deprecated (RFC 4291), and
#: `::127.0.0.1` reaches the host itself on some stacks. `::` and `::1`, inside `::/96`, are
#: named first so they keep their own kinds.
_REFUSED_V6 = (
    (ipaddress.IPv6Network("::/128"), "an unspecified"),
    (ipaddress.IPv6Network("::1/128"), "a loopback"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "a local-use NAT64"),
    (ipaddress.IPv6Network("::/96"), "an IPv4-compatible"),
)
#: IPv4 ranges refused beyond the standard library's flags: IETF protocol assignments
#: (RFC 6890), some of which Python counts as global.
_REFUSED_V4 = (ipaddress.IPv4Network("192.0.0.0/24"),)
#: NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _carried_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address leads to, with the kind of carrier; None for none."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "a NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "a 6to4", ip.sixtofour
    return None


def _stdlib_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
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
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local"
    if ip.is_reserved or not ip.is_global:
        return "a reserved"
    return None
