from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, UTCDateTime


class Receiving(StrEnum):
    smtp = "smtp"  # mail is forwarded to Okno's own SMTP/LMTP receiver
    imap = "imap"  # Okno polls an IMAP mailbox


class Security(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"  # implicit TLS (IMAPS 993, SMTPS 465)


class Mailbox(Base):
    """An address customers write to; replies on its tickets go out from it."""

    __tablename__ = "mailboxes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(320), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
    receiving: Mapped[Receiving] = mapped_column(sa.String(10))
    imap_host: Mapped[str | None] = mapped_column(sa.String(255))
    imap_port: Mapped[int | None] = mapped_column(sa.Integer)
    imap_security: Mapped[Security] = mapped_column(sa.String(10), default=Security.tls)
    imap_username: Mapped[str | None] = mapped_column(sa.String(320))
    # Encrypted with the installation's secret key (okno.crypto), never stored in clear.
    imap_password_sealed: Mapped[str | None] = mapped_column(sa.Text)
    imap_folder: Mapped[str] = mapped_column(sa.String(200), default="INBOX")
    smtp_host: Mapped[str | None] = mapped_column(sa.String(255))
    smtp_port: Mapped[int | None] = mapped_column(sa.Integer)
    smtp_security: Mapped[Security] = mapped_column(sa.String(10), default=Security.starttls)
    smtp_username: Mapped[str | None] = mapped_column(sa.String(320))
    smtp_password_sealed: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # IMAP receiving: when the server was last asked, and why it failed then (None: it worked).
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_fetch_error: Mapped[str | None] = mapped_column(sa.Text)


class InboundStatus(StrEnum):
    queued = "queued"  # stored; its processing job is queued
    processed = "processed"  # became a message on a ticket (or was deliberately dropped)
    quarantined = "quarantined"  # processing failed: kept with its raw bytes for an admin to re-run


class InboundEmail(Base):
    """A received mail, stored raw before anything else happens to it.

    The receiver acknowledges mail only after this row commits, and processing is a job, so a
    parser failure or a crash loses nothing. ``message_key`` (the Message-ID, or a hash of the
    raw bytes when there is none) is unique per mailbox: the same mail delivered twice, or
    fetched again after a crash, is stored once.
    """

    __tablename__ = "inbound_emails"
    __table_args__ = (
        sa.UniqueConstraint("mailbox_id", "message_key"),
        sa.Index("ix_inbound_emails_status", "status", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(sa.ForeignKey("mailboxes.id"))
    message_key: Mapped[str] = mapped_column(sa.String(500))
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int] = mapped_column(sa.Integer)
    source: Mapped[str] = mapped_column(sa.String(10))  # smtp, imap
    envelope_from: Mapped[str | None] = mapped_column(sa.String(320))
    status: Mapped[InboundStatus] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when filed: the sender an automatic answer (acknowledgement, a rule's auto-reply) may go to,
    # and the Message-ID it answers. None when RFC 3834 says not to answer: an auto-reply, bulk or list
    # mail, a bounce, mailer-daemon or no-reply.
    answer_to: Mapped[str | None] = mapped_column(sa.String(320))
    answer_in_reply_to: Mapped[str | None] = mapped_column(sa.String(998))


class AutoReply(Base):
    """An automatic acknowledgement of a new ticket, sent once per ticket through the outbox.

    Counted per recipient over the last hour (in the database, so every worker sees the same
    count) to cap automatic mail to any one address; kept with its delivery outcome so the
    ticket's timeline can say it went out, or why it did not.
    """

    __tablename__ = "auto_replies"
    __table_args__ = (sa.Index("ix_auto_replies_recipient", "recipient", "created_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(sa.ForeignKey("mailboxes.id"))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), unique=True)
    recipient: Mapped[str] = mapped_column(sa.String(320))  # lower case
    in_reply_to: Mapped[str | None] = mapped_column(sa.String(998))
    external_id: Mapped[str | None] = mapped_column(sa.String(998))
    language: Mapped[str | None] = mapped_column(sa.String(10))
    delivery_status: Mapped[str] = mapped_column(sa.String(20))  # tickets.models.DeliveryStatus values
    delivery_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
