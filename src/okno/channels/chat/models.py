from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, UTCDateTime


class ChatVisitor(Base):
    """Someone chatting through a widget, known by the random token their browser keeps.

    The widget keeps the token in the site's ``localStorage`` (never a cookie of the help desk);
    only its SHA-256 is stored, so a leaked table lets nobody chat as anyone. ``customer_id`` is
    who the conversations belong to: a customer of their own (a chat identity) until they give
    an email, then the customer with that address. Only a confirmed address (``email_confirmed``:
    a one-time code, or the site's signature) lets the visitor see that customer's earlier chats;
    an unconfirmed one links the conversation to the customer for agents only.
    """

    __tablename__ = "chat_visitors"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    widget_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_widgets.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The visitor's chat identity on their customer (CustomerIdentity kind "chat"): random, not secret.
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(320))
    email_confirmed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # How the address was proven: "code" (mailed one-time code) or "signature" (signed by the site).
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatConversation(Base):
    """A ticket that a visitor opened through a widget: who may follow it there, and its chat state.

    One row per ticket (a follow-up of a closed conversation gets its own). ``offline``: opened
    while nobody of the topic's team could answer, so replies go out by email at once and the
    conversation never idles out. ``closed_at``: closed for idleness (the ticket was solved).
    """

    __tablename__ = "chat_conversations"
    __table_args__ = (sa.Index("ix_chat_conversations_open", "closed_at", "offline"),)

    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    widget_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_widgets.id", ondelete="CASCADE"), index=True)
    visitor_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_visitors.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    offline: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatEmailCode(Base):
    """A one-time code mailed to an address a visitor says is theirs.

    Six digits, valid ten minutes, a few attempts. Stored as an HMAC under the installation's
    secret key: six digits hashed plainly could be recovered from a leaked table at once.
    """

    __tablename__ = "chat_email_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_visitors.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
