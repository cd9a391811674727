"""Which network addresses a webhook may reach: pure rules, no session, no DNS.

Webhooks make Okno send HTTP requests to URLs that people type in. Without limits that is a way
to reach what only Okno's own network can: the database, a cloud metadata service
(169.254.169.254), an admin console on localhost. So a target must be a public address unless an
administrator allowed private networks for that subscription explicitly.

Addresses are judged after unwrapping the forms that embed an IPv4 address in IPv6 (IPv4-mapped
``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo), so ``::ffff:127.0.0.1``
is loopback like ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the embedding forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    return None


def canonical(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 as the IPv4 address it is (what to judge, and what to connect to)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_problem(address: IPAddress) -> str | None:
    """Why a webhook must not go to ``address`` without the private-network permission, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            if problem is not None or address.ipv4_mapped is not None:
                return problem
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not public", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one (``[::1]`` brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL's form (not where it points), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "a webhook URL starts with http:// or https://"
    if not parts.hostname:
        return "a webhook URL needs a host"
    if parts.username is not None or parts.password is not None:
        return "put credentials in the secret, not in the URL"
    if parts.fragment:
        return "a webhook URL has no #fragment"
    if port == 0:
        return "port 0 is not a port"
    if any(c.isspace() for c in url):
        return "a URL has no spaces"
    return None
