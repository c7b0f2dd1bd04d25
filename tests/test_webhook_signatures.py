"""The signature helper receivers use, and the check of webhook targets (no services needed)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from actors.webhook_targets import TargetRefused, check_url, resolve
from models.webhook_signatures import sign, signature, verify
from tests.support import change_settings

SECRET = "whsec_test-secret"
BODY = b'{"id":"whd_1","type":"workflow.completed","data":{"status":"COMPLETED"}}'
NOW = 1_767_225_600


def test_a_signature_is_the_hmac_of_timestamp_dot_body():
    header = sign(SECRET, BODY, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert signature(SECRET, NOW, BODY.decode()) == expected


def test_a_valid_signature_verifies():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert verify(SECRET, header, BODY, now=NOW + 10)
    assert verify(SECRET, header, BODY.decode(), now=NOW - 10)  # the body as text too


def test_a_tampered_body_does_not_verify():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert not verify(SECRET, header, BODY.replace(b"COMPLETED", b"FAILED"), now=NOW)
    assert not verify(SECRET, header, BODY + b" ", now=NOW)


def test_another_secret_does_not_verify():
    header = sign("whsec_other", BODY, timestamp=NOW)
    assert not verify(SECRET, header, BODY, now=NOW)


def test_a_stale_or_future_timestamp_does_not_verify():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert verify(SECRET, header, BODY, now=NOW + 300)
    assert not verify(SECRET, header, BODY, now=NOW + 301)
    assert not verify(SECRET, header, BODY, now=NOW - 301)
    assert verify(SECRET, header, BODY, tolerance_s=3600, now=NOW + 3000)


def test_a_moved_timestamp_does_not_verify():
    good = sign(SECRET, BODY, timestamp=NOW).split(",")[1]
    assert not verify(SECRET, f"t={NOW + 1},{good}", BODY, now=NOW)


def test_any_of_several_signatures_may_match():
    good = sign(SECRET, BODY, timestamp=NOW).split(",")[1]
    assert verify(SECRET, f"t={NOW},v1={'0' * 64},{good}", BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", f"t={NOW}", "v1=abc", f"t=soon,v1={'a' * 64}", f"t={NOW},v1=é"],
)
def test_a_malformed_header_does_not_verify(header):
    assert not verify(SECRET, header, BODY, now=NOW)


def test_the_current_time_is_used_by_default():
    assert verify(SECRET, sign(SECRET, BODY), BODY)
    assert not verify(SECRET, sign(SECRET, BODY, timestamp=NOW), BODY)


# Targets


@pytest.fixture
def private_refused(monkeypatch):
    change_settings(monkeypatch, webhook_allow_private=False)


@pytest.mark.parametrize(
    ("url", "port"),
    [("https://93.184.215.14/x", 443), ("http://93.184.215.14/x", 80), ("https://h:8443/", 8443)],
)
def test_a_url_gets_its_default_port(url, port):
    assert check_url(url)[1] == port


def test_a_public_address_is_the_one_connected_to(private_refused):
    target = resolve("https://93.184.215.14:8443/hooks?x=1")
    assert (target.address, target.hostname, target.host_header) == (
        "93.184.215.14",
        "93.184.215.14",
        "93.184.215.14:8443",
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.2/", "loopback"),
        ("http://localhost:9/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://169.254.169.254/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://239.1.1.1/", "multicast"),
        ("http://100.64.0.1/", "reserved"),
    ],
)
def test_a_non_public_address_is_refused(private_refused, url, kind):
    with pytest.raises(TargetRefused, match=f"an? {kind} address"):
        resolve(url)


def test_private_addresses_pass_when_allowed(monkeypatch):
    change_settings(monkeypatch, webhook_allow_private=True)
    target = resolve("http://localhost:8080/hook")
    assert target.hostname == "localhost" and target.host_header == "localhost:8080"
    assert target.address in ("127.0.0.1", "::1")
