"""Webhook targets that lead inside the network by way of IPv6 are refused (SPEC section 7).

IPv4-mapped, NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4
address they carry; the local-use NAT64 prefix, IPv4-compatible addresses and `192.0.0.0/24`
are refused whole. Addresses come from hypothesis, inside each range.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from actors.webhook_targets import TargetRefused, not_public, resolve
from models.webhooks import Webhook
from tests.api_support import assert_error
from tests.support import change_settings

EVENTS = ["workflow.completed"]

#: IPv4 ranges that are not public: where an embedded address must not lead.
NON_PUBLIC_V4 = [
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
NAT64 = int(ipaddress.IPv6Address("64:ff9b::"))
MAPPED = int(ipaddress.IPv6Address("::ffff:0:0"))


def inside(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy:
    """Any address of `network`."""
    first, last = int(network.network_address), int(network.broadcast_address)
    return st.integers(first, last).map(type(network.network_address))


any_ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
non_public_ipv4 = st.sampled_from(NON_PUBLIC_V4).flatmap(inside)


def nat64(ipv4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(NAT64 | int(ipv4))


def mapped(ipv4: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(MAPPED | int(ipv4))


@st.composite
def sixtofour(
    draw, ipv4s: st.SearchStrategy
) -> tuple[ipaddress.IPv6Address, ipaddress.IPv4Address]:
    """A 6to4 address (any subnet and interface bits) and the IPv4 address it carries."""
    ipv4 = draw(ipv4s)
    rest = draw(st.integers(0, 2**80 - 1))
    return ipaddress.IPv6Address((0x2002 << 112) | (int(ipv4) << 80) | rest), ipv4


@pytest.fixture
def private_refused(monkeypatch):
    change_settings(monkeypatch, webhook_allow_private=False)


@given(non_public_ipv4)
def test_nat64_and_mapped_addresses_of_a_non_public_ipv4_are_refused(ipv4):
    for carrier, address in (("NAT64", nat64(ipv4)), ("IPv4-mapped", mapped(ipv4))):
        kind = not_public(address)
        assert kind is not None, address
        assert f"{carrier} address of {ipv4}" in kind


@given(sixtofour(non_public_ipv4))
def test_6to4_addresses_of_a_non_public_ipv4_are_refused(case):
    address, ipv4 = case
    kind = not_public(address)
    assert kind is not None, address
    assert f"6to4 address of {ipv4}" in kind


@given(any_ipv4, st.integers(0, 2**80 - 1))
def test_an_embedded_ipv4_is_judged_as_the_ipv4_itself(ipv4, rest):
    refused = not_public(ipv4) is not None
    six = ipaddress.IPv6Address((0x2002 << 112) | (int(ipv4) << 80) | rest)
    for address in (nat64(ipv4), mapped(ipv4), six):
        assert (not_public(address) is not None) == refused, (address, ipv4)


@given(
    st.one_of(
        inside(ipaddress.IPv6Network("64:ff9b:1::/48")),
        inside(ipaddress.IPv6Network("::/96")),
        inside(ipaddress.IPv4Network("192.0.0.0/24")),
    )
)
def test_local_nat64_ipv4_compatible_and_ietf_protocol_addresses_are_refused_whole(address):
    assert not_public(address) is not None, address


@hypothesis_settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        non_public_ipv4.map(nat64),
        non_public_ipv4.map(mapped),
        sixtofour(non_public_ipv4).map(lambda case: case[0]),
        inside(ipaddress.IPv6Network("64:ff9b:1::/48")),
        inside(ipaddress.IPv6Network("::/96")),
    )
)
def test_a_url_naming_such_an_address_is_refused_unless_private_targets_are_allowed(
    monkeypatch, address
):
    url = f"http://[{address}]:8080/hook"
    with monkeypatch.context() as patch:
        change_settings(patch, webhook_allow_private=False)
        with pytest.raises(TargetRefused, match="WEBHOOK_ALLOW_PRIVATE=1"):
            resolve(url)
    with monkeypatch.context() as patch:
        change_settings(patch, webhook_allow_private=True)
        assert ipaddress.ip_address(resolve(url).address) == address


@pytest.mark.parametrize(
    ("url", "leads_to"),
    [
        ("http://[64:ff9b::7f00:1]/", "NAT64 address of 127.0.0.1, a loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/latest", "NAT64 address of 169.254.169.254, a link-local"),
        ("http://[2002:a00:1::1]/", "6to4 address of 10.0.0.1, a private"),
        ("http://[::127.0.0.1]/", "an IPv4-compatible"),
        ("http://[64:ff9b:1::a00:1]/", "a local-use NAT64"),
        ("http://192.0.0.9/", "an IETF protocol"),
    ],
)
def test_creating_a_webhook_at_such_an_address_is_400_and_stores_nothing(
    client, auth, private_refused, url, leads_to
):
    result = client.simulate_post("/v1/webhooks", headers=auth, json={"url": url, "events": EVENTS})

    error = assert_error(result, 400, "VALIDATION_ERROR", "url")
    message = error["details"]["fields"][0]["message"]
    assert leads_to in message and "WEBHOOK_ALLOW_PRIVATE=1" in message
    assert Webhook.select().count() == 0


@pytest.mark.parametrize(
    "url",
    ["http://[64:ff9b::808:808]/hook", "http://[2002:808:808::1]/hook", "http://8.8.8.8/hook"],
)
def test_a_nat64_or_6to4_address_of_a_public_ipv4_is_taken(client, auth, private_refused, url):
    result = client.simulate_post("/v1/webhooks", headers=auth, json={"url": url, "events": EVENTS})

    assert result.status_code == 201, result.text
    assert Webhook.get_by_id(result.json["data"]["id"]).url == url
