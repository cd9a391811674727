"""Finding a ticket the actor may see (and, to change it, lock it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts.permissions import Actor, visible_tickets
from okno.errors import Conflict, NotFound
from okno.tickets.models import Ticket


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; 404 otherwise, whether it exists or not."""
    query = (
        sa.select(Ticket)
        .where(Ticket.id == ticket_id, visible_tickets(actor))
        .options(selectinload(Ticket.tags), selectinload(Ticket.participants))
    )
    if for_update:
        # Serialises concurrent changes to one ticket on PostgreSQL; SQLite writers are serial anyway.
        query = query.with_for_update(of=Ticket)
    ticket = session.scalars(query).first()
    if ticket is None:
        raise NotFound("Ticket not found.")
    return ticket


def writable(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    ticket = get_ticket(session, actor, ticket_id, for_update=True)
    if ticket.merged_into_id is not None:
        raise Conflict(
            "This ticket was merged into another one; write there.",
            code="ticket_merged",
            details={"merged_into_id": ticket.merged_into_id},
        )
    return ticket
