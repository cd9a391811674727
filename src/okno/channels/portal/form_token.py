"""The public form's timestamp token: proves when the form was served, so a bot that posts at once
(or replays a token from yesterday) is told apart from a person who read and typed.

``<issued unix seconds>.<hex HMAC-SHA256>`` keyed by the installation's secret; no state on the
server. Pure: the caller passes the secret and "now".
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import Enum

PURPOSE = b"okno public form v1"
# A form kept open this long is stale: served again with a fresh token (what was typed kept).
MAX_AGE_SECONDS = 24 * 3600


class Verdict(Enum):
    ok = "ok"
    too_fast = "too_fast"
    stale = "stale"
    forged = "forged"


def _signature(secret: str, issued: int) -> str:
    key = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, str(issued).encode(), hashlib.sha256).hexdigest()


def issue(secret: str, now: datetime) -> str:
    issued = int(now.timestamp())
    return f"{issued}.{_signature(secret, issued)}"


def verify(secret: str, token: str, now: datetime, *, min_seconds: float) -> Verdict:
    issued_text, _, signature = token.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12 or not signature:
        return Verdict.forged
    issued = int(issued_text)
    if not hmac.compare_digest(_signature(secret, issued), signature):
        return Verdict.forged
    age = now.timestamp() - issued
    if age < min_seconds:
        return Verdict.too_fast
    if age > MAX_AGE_SECONDS:
        return Verdict.stale
    return Verdict.ok
