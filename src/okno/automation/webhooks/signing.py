"""Signing webhook payloads: pure rules, no session.

Every delivery carries ``X-Okno-Signature: t=<unix seconds>,v1=<hex>`` where

    v1 = hex(HMAC-SHA256(key=secret, message=f"{t}." + body))

``secret`` is the subscription's secret as its UTF-8 bytes and ``body`` the exact bytes of the
request body. The timestamp is signed with the body so a captured request cannot be replayed
later: receivers should refuse a ``t`` more than a few minutes away from their clock.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Okno-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (here for tests and the documentation's example)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, fields.get("v1", ""))
