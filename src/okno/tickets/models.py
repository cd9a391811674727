from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"
    on_hold = "on_hold"
    solved = "solved"
    closed = "closed"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


PRIORITY_RANK = {Priority.low: 0, Priority.normal: 1, Priority.high: 2, Priority.urgent: 3}


class Channel(StrEnum):
    email = "email"
    chat = "chat"
    web = "web"
    portal = "portal"
    api = "api"
    phone = "phone"
    other = "other"


# Public replies on tickets of these channels are delivered to the customer by the channel.
DELIVERING_CHANNELS = frozenset({Channel.email, Channel.web, Channel.portal, Channel.chat})


class MessageKind(StrEnum):
    inbound = "inbound"  # from the customer (or a CC) through a channel
    reply = "reply"  # public answer from an agent
    note = "note"  # internal, never shown to the customer


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class ActorType(StrEnum):
    user = "user"
    customer = "customer"
    rule = "rule"
    system = "system"


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketTag(Base):
    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)


# Tickets nobody owns yet that someone should answer: routing's queue (see ix_tickets_waiting_for_agent).
# Spam waits for nobody.
WAITING_FOR_AGENT = "assignee_id IS NULL AND status IN ('new', 'open') AND merged_into_id IS NULL AND spam_at IS NULL"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The inbox views: "my teams by last activity", "all open", "mine"; keyset on (sort key, id).
        sa.Index("ix_tickets_team_activity", "team_id", "last_activity_at", "id"),
        sa.Index("ix_tickets_status_activity", "status", "last_activity_at", "id"),
        sa.Index("ix_tickets_assignee_status", "assignee_id", "status"),
        sa.Index("ix_tickets_activity", "last_activity_at", "id"),
        sa.Index("ix_tickets_updated", "updated_at", "id"),
        sa.Index("ix_tickets_created", "created_at", "id"),
        # The other inbox sorts (priority, waiting time, created), team-first like "My teams".
        sa.Index("ix_tickets_team_priority", "team_id", "priority_rank", "last_activity_at", "id"),
        sa.Index("ix_tickets_team_waiting", "team_id", "waiting_since", "id"),
        sa.Index("ix_tickets_team_created", "team_id", "created_at", "id"),
        sa.Index("ix_tickets_priority", "priority_rank", "last_activity_at", "id"),
        sa.Index("ix_tickets_waiting", "waiting_since", "id"),
        # Time-based rules: the tickets in a status since before a cut-off ("pending for 3 days").
        sa.Index("ix_tickets_status_since", "status", "status_changed_at", "id"),
        # Opening a ticket gathers the history of the tickets merged into it; few tickets are merged,
        # so only those are indexed (without it, every ticket page read the whole table).
        sa.Index(
            "ix_tickets_merged_into",
            "merged_into_id",
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        ),
        # "SLA at risk": tickets whose next SLA target is due soonest. Only tickets with a running
        # target have a value, so the index holds the working tickets, not the million solved ones.
        sa.Index(
            "ix_tickets_sla_due",
            "sla_due_at",
            "id",
            postgresql_where=sa.text("sla_due_at IS NOT NULL"),
            sqlite_where=sa.text("sla_due_at IS NOT NULL"),
        ),
        # The spam folder, by last activity: only tickets in spam are in it, so it stays small.
        sa.Index(
            "ix_tickets_spam",
            "last_activity_at",
            "id",
            postgresql_where=sa.text("spam_at IS NOT NULL"),
            sqlite_where=sa.text("spam_at IS NOT NULL"),
        ),
        # Routing's queue: the unassigned new and open tickets of each team, most urgent first, then the
        # customer waiting longest. Only waiting tickets are in it, so it stays small whatever the history.
        sa.Index(
            "ix_tickets_waiting_for_agent",
            "team_id",
            sa.text("priority_rank DESC"),
            "waiting_since",
            "id",
            postgresql_where=sa.text(WAITING_FOR_AGENT),
            sqlite_where=sa.text(WAITING_FOR_AGENT),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # PostgreSQL fills it from ticket_number_seq in the INSERT; SQLite is given it (db.number_from_sequence).
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True, server_default=sa.FetchedValue())
    subject: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[TicketStatus] = mapped_column(sa.String(20))
    priority: Mapped[Priority] = mapped_column(sa.String(20))
    # PRIORITY_RANK[priority], kept in step by the validator below: a column the priority sort can index.
    priority_rank: Mapped[int] = mapped_column(sa.SmallInteger, server_default="1")
    channel: Mapped[Channel] = mapped_column(sa.String(20))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    # Frozen at creation: SLA targets and analytics follow the plan the customer paid for then.
    customer_plan: Mapped[str] = mapped_column(sa.String(20))
    language: Mapped[str | None] = mapped_column(sa.String(10))
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    follow_up_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When it entered its status (its last status_changed event, else its creation): set with every
    # change of status, so that "pending for 3 days" needs no walk through the events.
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the customer's oldest unanswered message arrived; None once an agent replied after it.
    # Maintained where messages are added (tickets.service), so "waiting longest" is an index scan.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the first of its running SLA targets is due (past: breached); None when no target runs
    # (none applies, all are met, or the clock is paused). Kept by the SLA clock (automation.sla),
    # not a change to the ticket: it records no event and leaves updated_at alone.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it went into the spam folder (by the filter or an agent); None: not spam. A ticket in spam
    # is in no inbox view, no routing queue, no SLA clock, and no reaction sees its changes
    # (tickets.reactions): docs/subsystems/spam.md.
    spam_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[Tag]] = relationship(secondary="ticket_tags", lazy="raise", order_by=Tag.name)
    participants: Mapped[list[TicketParticipant]] = relationship(
        lazy="raise", order_by="TicketParticipant.id", cascade="all, delete-orphan"
    )

    @validates("priority")
    def _rank_priority(self, _key: str, value: str) -> str:
        self.priority_rank = PRIORITY_RANK[Priority(value)]
        return value


class TicketParticipant(Base):
    """People copied on a ticket besides its customer (email CC, a colleague on the portal)."""

    __tablename__ = "ticket_participants"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20), default="cc")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (sa.Index("ix_messages_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"))
    kind: Mapped[MessageKind] = mapped_column(sa.String(20))
    channel: Mapped[Channel] = mapped_column(sa.String(20))
    author_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    author_customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    body_text: Mapped[str] = mapped_column(sa.Text)
    # Sanitised with an allow-list before it is stored; safe to render.
    body_html: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.String(10))
    external_id: Mapped[str | None] = mapped_column(sa.String(998), index=True)
    # Public replies that a channel delivers: queued, sent, or failed (with the reason).
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(sa.String(20))
    delivery_error: Mapped[str | None] = mapped_column(sa.Text)
    # When the other side first read it, where a channel can tell (the chat widget): an agent
    # reading a customer's message, the customer reading an agent's reply. Never set back.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    attachments: Mapped[list[Attachment]] = relationship(lazy="raise", order_by="Attachment.created_at")
    # A new ticket and its first message are written in one flush.
    ticket: Mapped[Ticket] = relationship(lazy="raise")


class Attachment(Base):
    """Metadata of a stored file. The id is random and unguessable; it is also the download key."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    # Set only when the bytes prove a raster image; only those may ever be shown inline.
    inline_image_type: Mapped[str | None] = mapped_column(sa.String(40))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_by_customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TicketEvent(Base):
    """The append-only history of a ticket. Never updated, never deleted.

    ``occurred_at`` is when it happened in the world, ``recorded_at`` when Okno wrote it;
    they differ for imported history. ``data`` holds ids and codes, never personal data.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (sa.Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    actor_type: Mapped[ActorType] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)


class FieldType(StrEnum):
    text = "text"
    number = "number"
    boolean = "boolean"
    date = "date"
    select = "select"


class CustomFieldDefinition(Base):
    __tablename__ = "custom_field_definitions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    field_type: Mapped[FieldType] = mapped_column(sa.String(20))
    options: Mapped[list[str]] = mapped_column(JSONData, default=list)
    # A field in use is deactivated rather than deleted: tickets keep their values, no new ones are taken.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ViewScope(StrEnum):
    personal = "personal"  # only its owner sees it
    team = "team"  # every member of one team
    everyone = "everyone"  # every staff member


class SavedView(Base):
    """An inbox view an agent saved: a name, filters over tickets and a sort; personal or shared."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.Index("ix_saved_views_scope", "scope", "team_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    owner_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[ViewScope] = mapped_column(sa.String(20))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    # SavedViewFilters as JSON: statuses, team, assignee ("me", "nobody" or a user id), tag, channel, ...
    filters: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    sort: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
