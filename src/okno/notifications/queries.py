"""Read side of notifications: what the bell shows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.notifications.models import Notification

UNREAD_CAP = 99


def unread_count(session: Session, user_id: int) -> int:
    """Unread notifications of one user, counted up to just past the cap the bell shows ("99+")."""
    capped = (
        sa.select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_CAP + 1)
        .subquery()
    )
    return session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0
