"""Tickets and their events as systems outside Okno are told about them (outgoing webhooks).

System reads, with no actor: the caller is a part of Okno that an administrator set up to tell
an outside system about every ticket (webhooks), not a person looking at tickets.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.tickets import access
from okno.tickets.models import Ticket, TicketEvent
from okno.tickets.queries import to_reads
from okno.tickets.schemas import EventRead, TicketRead


def events(session: Session, event_ids: list[int] | tuple[int, ...]) -> list[EventRead]:
    """The events with these ids, oldest first."""
    if not event_ids:
        return []
    rows = session.scalars(sa.select(TicketEvent).where(TicketEvent.id.in_(list(event_ids))).order_by(TicketEvent.id))
    return [EventRead.model_validate(row) for row in rows]


def ticket(session: Session, ticket_id: int) -> TicketRead | None:
    """The ticket as the API shows it to staff, or None when there is no such ticket."""
    found = access.with_lists(session, sa.select(Ticket).where(Ticket.id == ticket_id))
    return to_reads(session, found)[0] if found else None
