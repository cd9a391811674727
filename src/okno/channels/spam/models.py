"""The spam filter's settings: the admins' rules and the installation's threshold."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, UTCDateTime


class SpamRule(Base):
    """One rule: when ``field`` ``match``es ``value``, add ``weight`` (action score), or block, or allow.

    Ids are never handed out twice: a ticket's ``marked_spam`` event names the rules that scored it.
    ``ticket_id`` is the ticket whose marking as spam blocked the sender, for a rule made that way.
    """

    __tablename__ = "spam_rules"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(20))  # scoring.RuleField
    match: Mapped[str] = mapped_column(sa.String(20))  # scoring.RuleMatch
    value: Mapped[str] = mapped_column(sa.String(500))
    action: Mapped[str] = mapped_column(sa.String(20))  # scoring.RuleAction
    weight: Mapped[float] = mapped_column(sa.Float, default=0.0)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SpamSettings(Base):
    """The installation's one row (id 1): whether the filter files mail into spam, and from what score.

    No row means the defaults (on, scoring.DEFAULT_THRESHOLD): a new installation needs no set-up.
    """

    __tablename__ = "spam_settings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    threshold: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
