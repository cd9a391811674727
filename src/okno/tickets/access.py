"""Finding a ticket the actor may see (and, to change it, lock it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from okno.accounts.permissions import Actor, visible_tickets
from okno.errors import Conflict, NotFound
from okno.tickets.models import Ticket


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; 404 otherwise, whether it exists or not."""
    if not for_update and actor.is_staff and not actor.limited_to_teams:
        loaded = _already_loaded(session, ticket_id)
        if loaded is not None:
            return loaded
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


def _already_loaded(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket as this unit of work already holds it, with its tags and participants.

    Querying again would return this very object unchanged (a session never overwrites what it
    holds), so the round trip is saved: the reactions of one job each look the ticket up.
    """
    ticket = session.identity_map.get(identity_key(Ticket, ticket_id))
    if not isinstance(ticket, Ticket):
        return None
    state = sa.inspect(ticket)
    if state.expired or state.deleted or state.was_deleted or {"tags", "participants"} & state.unloaded:
        return None
    return ticket
