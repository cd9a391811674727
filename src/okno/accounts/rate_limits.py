"""Counting attempts in the database, so every process of the help desk shares the same limits.

Failed sign-ins, public form submissions and magic-link requests are all "attempts" under a
namespaced key (``email:anna@example.com``, ``portal-form:ip:203.0.113.7``). Each one is a row
in the attempts table (``login_failures``, its name from when sign-ins were its only use); a
limit is a count of rows under a key within a sliding window. Rows are written in the
transaction of the attempt they count, so a refused or rolled-back attempt can choose whether
it counts (a failed password does, in its own transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.models import LoginFailure
from okno.db import utcnow
from okno.errors import RateLimited

# The longest window any caller counts in; attempts are kept at least this long.
LONGEST_WINDOW_S = 24 * 3600


@dataclass(frozen=True)
class Limit:
    key: str
    at_most: int
    window_s: int


def recent(session: Session, key: str, *, window_s: int) -> int:
    since = utcnow(session) - timedelta(seconds=window_s)
    count = session.scalar(sa.select(sa.func.count()).where(LoginFailure.key == key, LoginFailure.occurred_at >= since))
    return int(count or 0)


def check(session: Session, limits: Sequence[Limit], *, message: str) -> None:
    """Raises RateLimited (429) when any key already has its allowance within its window."""
    for limit in limits:
        if recent(session, limit.key, window_s=limit.window_s) >= limit.at_most:
            raise RateLimited(message, details={"retry_after_s": limit.window_s})


def record(session: Session, keys: Iterable[str]) -> None:
    now = utcnow(session)
    session.add_all(LoginFailure(key=key[:400], occurred_at=now) for key in keys)
    session.flush()


def sweep(session: Session, *, older_than_s: int) -> int:
    """Attempts older than every window are no use; the maintenance job removes them."""
    cutoff = utcnow(session) - timedelta(seconds=older_than_s)
    result = session.execute(sa.delete(LoginFailure).where(LoginFailure.occurred_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
