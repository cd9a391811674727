"""Which ticket an incoming message continues: the read-only lookups channels thread with."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.tickets.models import Message, MessageKind, Ticket, TicketParticipant

MAX_MERGE_HOPS = 20


def _follow_merges(session: Session, ticket_id: int) -> int:
    """A merged ticket lives on in its target (and a target may itself have been merged)."""
    for _ in range(MAX_MERGE_HOPS):
        target = session.scalar(sa.select(Ticket.merged_into_id).where(Ticket.id == ticket_id))
        if target is None:
            return ticket_id
        ticket_id = target
    return ticket_id


def ticket_by_external_ids(session: Session, external_ids: list[str]) -> int | None:
    """The ticket holding the newest message with one of these ids (an email's Message-ID)."""
    if not external_ids:
        return None
    ticket_id = session.scalar(
        sa.select(Message.ticket_id).where(Message.external_id.in_(external_ids)).order_by(Message.id.desc()).limit(1)
    )
    return None if ticket_id is None else _follow_merges(session, ticket_id)


def ticket_by_number_for(session: Session, *, number: int, customer_id: int) -> int | None:
    """The ticket with this number, only if this customer is its customer or a participant."""
    participant = sa.select(TicketParticipant.ticket_id).where(TicketParticipant.customer_id == customer_id)
    ticket_id = session.scalar(
        sa.select(Ticket.id).where(
            Ticket.number == number, sa.or_(Ticket.customer_id == customer_id, Ticket.id.in_(participant))
        )
    )
    return None if ticket_id is None else _follow_merges(session, ticket_id)


@dataclass(frozen=True)
class Heading:
    """What an automatic mail about a ticket names: its number, subject and customer."""

    ticket_id: int
    number: int
    subject: str
    customer_id: int


def heading(session: Session, ticket_id: int) -> Heading:
    row = session.execute(
        sa.select(Ticket.id, Ticket.number, Ticket.subject, Ticket.customer_id).where(Ticket.id == ticket_id)
    ).one()
    return Heading(*row)


def reply_by_external_id(session: Session, external_id: str) -> Message | None:
    """The public reply Okno sent under this Message-ID, locked: a bounce is about to mark it."""
    return session.scalars(
        sa.select(Message)
        .where(Message.external_id == external_id, Message.kind == MessageKind.reply)
        .order_by(Message.id)
        .limit(1)
        .with_for_update()
    ).first()
