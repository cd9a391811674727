"""The rule action "call a webhook": which targets a rule may name, and how a call leaves.

A rule never calls out inside the ticket's transaction: ``dispatch`` queues a job, and the job
POSTs a small JSON body (ids only: the rule, the ticket, the events that triggered it), signed
with HMAC-SHA256 of the installation's secret key in ``X-Okno-Signature`` and carrying
``X-Okno-Delivery`` (stable across retries, so a receiver can drop repeats). The target's name
is resolved once and the connection goes to the address that was checked, so a name that
resolves to a public address for the check and a private one for the call (DNS rebinding)
cannot reach inside; private, loopback, link-local and reserved addresses are refused (IPv4
mapped into IPv6 counts as IPv4), and redirects are not followed. A refusal is permanent;
a server that is down or answers 5xx is retried by the outbox with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from okno.jobs.registry import enqueue
from okno.web.i18n import N_

JOB = "rules.call_webhook"
MAX_URL = 2000
TIMEOUT_SECONDS = 10


class WebhookRefused(Exception):
    """The call can never succeed as configured (a private address, a 4xx answer)."""


def check_target(url: Any) -> str | None:
    """Why a rule may not call this URL, or None (only its form; addresses are checked when calling)."""
    if not isinstance(url, str) or not url.strip():
        return N_("give the URL to call")
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return N_("an http:// or https:// address")
    if parts.username or parts.password:
        return N_("leave credentials out of the address")
    return None


def dispatch(session: Session, *, url: str, rule_id: int, ticket_id: int, event_ids: list[int]) -> None:
    """Queues the call in the rule's transaction: it goes out once the change has committed."""
    delivery = f"rule-{rule_id}-ticket-{ticket_id}-event-{min(event_ids) if event_ids else 0}"
    payload = {"url": url.strip(), "delivery": delivery, "rule_id": rule_id, "ticket_id": ticket_id}
    enqueue(session, JOB, {**payload, "event_ids": event_ids}, key=f"{JOB}:{delivery}:{url.strip()}")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _checked_address(host: str, port: int) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(item[4][0]) for item in found]
    if not addresses or not all(_public(a) for a in addresses):
        raise WebhookRefused(f"{host} resolves to a private or reserved address")
    return addresses[0]


def _connection(parts: Any, address: str) -> http.client.HTTPConnection:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "http":
        connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_SECONDS)
    else:
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(address, port, timeout=TIMEOUT_SECONDS, context=context)
        # Connect to the checked address, but verify the certificate for the name in the URL.
        hostname = parts.hostname

        def connect() -> None:
            sock = socket.create_connection((address, port), TIMEOUT_SECONDS)
            connection.sock = context.wrap_socket(sock, server_hostname=hostname)

        connection.connect = connect  # type: ignore[method-assign]
    return connection


def deliver(payload: dict[str, Any], secret: str) -> int:
    """POSTs the call; returns the status. Raises ``WebhookRefused`` (permanent) or ``OSError`` (retry)."""
    parts = urlsplit(payload["url"])
    address = _checked_address(parts.hostname or "", parts.port or 0)
    body = json.dumps(
        {
            "delivery": payload["delivery"],
            "rule_id": payload["rule_id"],
            "ticket_id": payload["ticket_id"],
            "event_ids": payload["event_ids"],
        },
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    connection = _connection(parts, address)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        headers = {
            "Host": host,
            "Content-Type": "application/json",
            "User-Agent": "Okno-Webhook",
            "X-Okno-Delivery": payload["delivery"],
            "X-Okno-Signature": f"sha256={signature}",
        }
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    finally:
        connection.close()
    if 500 <= status < 600 or status == 429:
        raise OSError(f"the webhook answered {status}; will retry")
    if status >= 300:
        raise WebhookRefused(f"the webhook answered {status}")
    return status
