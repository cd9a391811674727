"""Notification use cases: create them with the change that causes them, list them, mark them read.

A mention's notifications are written in the note's own transaction: a note that rolls back
notifies nobody, and a committed note has notified everyone it names.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_staff
from okno.db import utcnow
from okno.errors import NotFound
from okno.notifications.models import Notification, NotificationKind

PAGE_SIZE = 50


def notify_mentioned(
    session: Session, actor: Actor, *, user_ids: Iterable[int], ticket_id: int, message_id: int
) -> list[Notification]:
    """One notification per mentioned colleague (the caller has checked they may see the ticket)."""
    now = utcnow(session)
    rows = [
        Notification(
            user_id=user_id,
            kind=NotificationKind.mention,
            ticket_id=ticket_id,
            message_id=message_id,
            actor_user_id=actor.user_id,
            created_at=now,
            read_at=None,
        )
        for user_id in dict.fromkeys(user_ids)
        if user_id != actor.user_id  # writing your own name is not news to you
    ]
    session.add_all(rows)
    session.flush()
    return rows


def notify_for_rule(session: Session, *, user_ids: Iterable[int], ticket_id: int, rule_id: int) -> list[Notification]:
    """One notification per person a rule names (supervisors of a team, say), in the rule's transaction."""
    now = utcnow(session)
    rows = [
        Notification(
            user_id=user_id,
            kind=NotificationKind.rule,
            ticket_id=ticket_id,
            message_id=None,
            actor_user_id=None,
            rule_id=rule_id,
            created_at=now,
            read_at=None,
        )
        for user_id in dict.fromkeys(user_ids)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_for(
    session: Session, actor: Actor, *, before_id: int | None = None, limit: int = PAGE_SIZE
) -> list[Notification]:
    """The actor's own notifications, newest first."""
    require_staff(actor)
    query = sa.select(Notification).where(Notification.user_id == actor.user_id)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def open_notification(session: Session, actor: Actor, notification_id: int) -> Notification:
    """The actor's notification, marked read now if it was not yet; someone else's is not found."""
    row = session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, Notification.user_id == actor.user_id)
    )
    if row is None:
        raise NotFound("Notification not found.")
    if row.read_at is None:
        row.read_at = utcnow(session)
        session.flush()
    return row


def mark_all_read(session: Session, actor: Actor) -> int:
    require_staff(actor)
    result = session.execute(
        sa.update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow(session))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
