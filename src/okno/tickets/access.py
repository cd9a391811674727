"""Finding a ticket the actor may see (and, to change it, lock it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from okno.accounts.permissions import Actor, visible_tickets
from okno.errors import Conflict, NotFound
from okno.tickets.models import Tag, Ticket, TicketParticipant, TicketTag

# Most tickets have neither tags nor people copied: asked along with the ticket, their empty lists cost no query.
_HAS_TAGS = sa.exists().where(TicketTag.ticket_id == Ticket.id).label("has_tags")
_HAS_PARTICIPANTS = sa.exists().where(TicketParticipant.ticket_id == Ticket.id).label("has_participants")
_TAGS = (
    sa.select(Tag)
    .join(TicketTag, TicketTag.tag_id == Tag.id)
    .where(TicketTag.ticket_id == sa.bindparam("ticket_id"))
    .order_by(Tag.name)
)
_PARTICIPANTS = (
    sa.select(TicketParticipant)
    .where(TicketParticipant.ticket_id == sa.bindparam("ticket_id"))
    .order_by(TicketParticipant.id)
)
# Staff who see every ticket ask for one by id on nearly every request and job: built once, not each time.
_BY_ID = sa.select(Ticket, _HAS_TAGS, _HAS_PARTICIPANTS).where(Ticket.id == sa.bindparam("ticket_id"))
# Serialises concurrent changes to one ticket on PostgreSQL; SQLite writers are serial anyway.
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update(of=Ticket)


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; 404 otherwise, whether it exists or not."""
    sees_all = actor.is_staff and not actor.limited_to_teams
    if sees_all and not for_update:
        loaded = already_loaded(session, ticket_id)
        if loaded is not None:
            return loaded
    query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
    if not sees_all:
        query = query.where(visible_tickets(actor))
    row = session.execute(query, {"ticket_id": ticket_id}).first()
    if row is None:
        raise NotFound("Ticket not found.")
    ticket, has_tags, has_participants = row
    unloaded = sa.inspect(ticket).unloaded
    for name, present, loading in (("tags", has_tags, _TAGS), ("participants", has_participants, _PARTICIPANTS)):
        if name in unloaded:
            items = list(session.scalars(loading, {"ticket_id": ticket.id})) if present else []
            set_committed_value(ticket, name, items)
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


def already_loaded(session: Session, ticket_id: int) -> Ticket | None:
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
