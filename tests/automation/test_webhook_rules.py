"""Webhooks' pure rules: which addresses are refused, URL forms, signatures."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import pytest

from okno.automation.webhooks.addresses import address_problem, canonical, url_problem
from okno.automation.webhooks.signing import signature_header, verify


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "private"),
        ("100.64.0.1", "not public"),  # carrier-grade NAT
        ("192.0.2.10", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),  # reserved; Python lists it among the private networks
        ("255.255.255.255", "private"),  # limited broadcast
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2001:db8::1", "private"),  # documentation
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        ("::ffff:8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_which_addresses_need_the_private_network_permission(address: str, problem: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == problem


def test_ipv4_mapped_addresses_are_connected_to_as_ipv4() -> None:
    assert canonical(ipaddress.ip_address("::ffff:127.0.0.1")) == ipaddress.ip_address("127.0.0.1")
    assert canonical(ipaddress.ip_address("::1")) == ipaddress.ip_address("::1")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.example.com/okno", True),
        ("http://hooks.example.com:8080/okno?x=1", True),
        ("http://[2001:db8::1]/hook", True),  # the form is fine; where it points is checked apart
        ("ftp://hooks.example.com/", False),
        ("hooks.example.com/okno", False),
        ("https:///okno", False),
        ("https://user:pass@hooks.example.com/", False),
        ("https://hooks.example.com/#part", False),
        ("https://hooks.example.com:0/", False),
        ("https://hooks.example.com:99999/", False),
        ("https://hooks.example.com/a b", False),
    ],
)
def test_webhook_url_forms(url: str, ok: bool) -> None:
    assert (url_problem(url) is None) is ok


def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    body = b'{"id":"abc","type":"created"}'
    header = signature_header("whsec_test-secret-123", 1_767_225_600, body)
    expected = hmac.new(b"whsec_test-secret-123", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert verify("whsec_test-secret-123", header, body, now=1_767_225_700)
    assert not verify("whsec_test-secret-123", header, body + b" ", now=1_767_225_700)
    assert not verify("another-secret-1234", header, body, now=1_767_225_700)
    assert not verify("whsec_test-secret-123", header, body, now=1_767_225_600 + 301)  # too old: a replay
    assert not verify("whsec_test-secret-123", "v1=" + expected, body, now=1_767_225_600)
