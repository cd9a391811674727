"""The conversation as its customer sees it, for channels that show it themselves (the chat widget).

Only public messages (the customer's and agents' replies, never notes), and only on tickets the
reader may see (``permissions.visible_tickets``): a channel narrows further (a chat visitor sees
their own conversations), never wider. Plain values, so a channel needs no ticket tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, visible_tickets
from okno.tickets.models import Channel, Message, MessageKind, Ticket, TicketEvent, TicketStatus


@dataclass(frozen=True)
class PublicMessage:
    id: int
    ticket_id: int
    from_customer: bool
    author_name: str  # the agent's name on a reply; empty on the customer's own messages
    body_text: str
    body_html: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class ConversationState:
    ticket_id: int
    number: int
    subject: str
    status: TicketStatus
    customer_id: int
    team_id: int | None
    # When the customer's oldest unanswered message arrived (None: an agent had the last word).
    waiting_since: datetime | None
    last_activity_at: datetime
    merged_into_id: int | None


def visible_ids(session: Session, actor: Actor, ticket_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return set()
    return set(session.scalars(sa.select(Ticket.id).where(Ticket.id.in_(wanted), visible_tickets(actor))))


def ids_on_channel(session: Session, actor: Actor, channel: Channel, *, limit: int) -> list[int]:
    """The newest tickets of one channel that the actor may see, newest first."""
    return list(
        session.scalars(
            sa.select(Ticket.id)
            .where(visible_tickets(actor), Ticket.channel == channel, Ticket.merged_into_id.is_(None))
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


def states(session: Session, ticket_ids: Iterable[int]) -> dict[int, ConversationState]:
    """Status and activity of tickets, for callers that decided already who may know them."""
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return {}
    rows = session.scalars(sa.select(Ticket).where(Ticket.id.in_(wanted)))
    return {
        t.id: ConversationState(
            ticket_id=t.id,
            number=t.number,
            subject=t.subject,
            status=TicketStatus(t.status),
            customer_id=t.customer_id,
            team_id=t.team_id,
            waiting_since=t.waiting_since,
            last_activity_at=t.last_activity_at,
            merged_into_id=t.merged_into_id,
        )
        for t in rows
    }


def _public(session: Session, rows: list[Message]) -> list[PublicMessage]:
    names = accounts_queries.user_names(session, {m.author_user_id for m in rows if m.author_user_id})
    return [
        PublicMessage(
            id=m.id,
            ticket_id=m.ticket_id,
            from_customer=m.kind == MessageKind.inbound,
            author_name="" if m.kind == MessageKind.inbound else names.get(m.author_user_id or 0, ""),
            body_text=m.body_text,
            body_html=m.body_html,
            created_at=m.created_at,
            read_at=m.read_at,
        )
        for m in rows
    ]


def public_messages(session: Session, actor: Actor, ticket_ids: Iterable[int], *, limit: int) -> list[PublicMessage]:
    """The public messages of these tickets that the actor may see, oldest first (at most ``limit``, the newest)."""
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return []
    rows = list(
        session.scalars(
            sa.select(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Message.ticket_id.in_(wanted), Message.kind != MessageKind.note, visible_tickets(actor))
            .order_by(Message.id.desc())
            .limit(limit)
        )
    )
    rows.reverse()
    return _public(session, rows)


def public_message(session: Session, actor: Actor, message_id: int) -> PublicMessage | None:
    row = session.scalar(
        sa.select(Message)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.id == message_id, Message.kind != MessageKind.note, visible_tickets(actor))
    )
    return _public(session, [row])[0] if row is not None else None


def latest_event_id(session: Session) -> int:
    """The newest event id now: live events after it are what a fresh reader has not seen yet."""
    return int(session.scalar(sa.select(sa.func.max(TicketEvent.id))) or 0)
