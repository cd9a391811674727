from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import Base, BigId, UTCDateTime


class NotificationKind(StrEnum):
    mention = "mention"
    rule = "rule"  # an automation rule asks the person to look at the ticket (rule_id says which)


class Notification(Base):
    """Something one user should look at. Holds ids only: the text lives on the ticket, behind its permissions."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The bell: a user's unread count; the page: a user's newest first.
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.Index("ix_notifications_user_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(sa.String(20))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    # Who caused it (the colleague who wrote the mention); None for the system.
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The rule that sent it (kind "rule"); rule ids are never reused, so no foreign key is needed.
    rule_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
