from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class ChatWidget(Base):
    """One embeddable chat widget: the sites allowed to show it and how it looks there.

    ``key`` is public (it is in the page's ``<script>`` tag); the identity secret is not: it
    signs visitors' identities on the site's server, and is stored sealed with the
    installation's secret key (okno.crypto), like mailbox passwords.
    """

    __tablename__ = "chat_widgets"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Normalised origins ("https://shop.example", "http://127.0.0.1:8000"), compared exactly.
    allowed_origins: Mapped[list[str]] = mapped_column(JSONData, default=list)
    color: Mapped[str] = mapped_column(sa.String(7))  # "#RRGGBB", lower case
    position: Mapped[str] = mapped_column(sa.String(10))  # right, left
    greeting: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(10))  # auto, en, ru
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
    ask_name: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    ask_email: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    idle_close_minutes: Mapped[int] = mapped_column(sa.Integer)
    secret_sealed: Mapped[str] = mapped_column(sa.Text)
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatWidgetTopic(Base):
    """A choice of the pre-chat menu ("Buy", "Problem with an order"): the team it sends the chat to."""

    __tablename__ = "chat_widget_topics"
    __table_args__ = (sa.Index("ix_chat_widget_topics_widget", "widget_id", "position"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    widget_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_widgets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(sa.Integer)  # the menu's order, from 0
    label: Mapped[str] = mapped_column(sa.String(100))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
