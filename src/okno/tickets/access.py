"""Finding a ticket the actor may see (and, to change it, lock it)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from okno.accounts.permissions import Actor, visible_tickets
from okno.errors import Conflict, NotFound
from okno.tickets.models import Tag, Ticket, TicketParticipant, TicketTag

# Most tickets have neither tags nor people copied: asked along with the ticket, their empty lists cost no query.
_HAS_TAGS = sa.exists().where(TicketTag.ticket_id == Ticket.id).label("has_tags")
_HAS_PARTICIPANTS = sa.exists().where(TicketParticipant.ticket_id == Ticket.id).label("has_participants")
_TAGS = (
    sa.select(TicketTag.ticket_id, Tag)
    .join(TicketTag, TicketTag.tag_id == Tag.id)
    .where(TicketTag.ticket_id.in_(sa.bindparam("ticket_ids", expanding=True)))
    .order_by(Tag.name)
)
_PARTICIPANTS = (
    sa.select(TicketParticipant.ticket_id, TicketParticipant)
    .where(TicketParticipant.ticket_id.in_(sa.bindparam("ticket_ids", expanding=True)))
    .order_by(TicketParticipant.id)
)
# Staff who see every ticket ask for one by id on nearly every request and job: built once, not each time.
_BY_ID = sa.select(Ticket, _HAS_TAGS, _HAS_PARTICIPANTS).where(Ticket.id == sa.bindparam("ticket_id"))
# Serialises concurrent changes to one ticket on PostgreSQL; SQLite writers are serial anyway.
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update(of=Ticket)
# Locked in id order, so that two units of work locking overlapping sets cannot deadlock each other.
_BY_IDS_SKIP_LOCKED = (
    sa.select(Ticket, _HAS_TAGS, _HAS_PARTICIPANTS)
    .where(Ticket.id.in_(sa.bindparam("ticket_ids", expanding=True)))
    .order_by(Ticket.id)
    .with_for_update(of=Ticket, skip_locked=True)
)
_LOCKED_KEY = "okno.locked_tickets"


def get_ticket(session: Session, actor: Actor, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the actor may see it; 404 otherwise, whether it exists or not."""
    sees_all = actor.is_staff and not actor.limited_to_teams
    if sees_all and (not for_update or ticket_id in session.info.get(_LOCKED_KEY, {})):
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
    _fill_lists(session, [(ticket, has_tags, has_participants)])
    return ticket


def lock_available(session: Session, ticket_ids: Collection[int]) -> set[int]:
    """Locks, of these tickets, those nobody else holds, for this unit of work, in one query; their ids.

    A job that works through a batch of tickets (time-based rules, say) locks them at once instead
    of one query per ticket: each is then changed through ``writable`` like any other, without
    reading it again. A ticket someone else holds is left for the next run.
    """
    if not ticket_ids:
        return set()
    rows = session.execute(
        _BY_IDS_SKIP_LOCKED, {"ticket_ids": sorted(ticket_ids)}, execution_options={"populate_existing": True}
    ).all()
    _fill_lists(session, [(ticket, has_tags, has_participants) for ticket, has_tags, has_participants in rows])
    hold_locked(session, [ticket for ticket, _, _ in rows])
    return {ticket.id for ticket, _, _ in rows}


def hold_locked(session: Session, tickets: Iterable[Ticket]) -> None:
    """Records tickets this unit of work has locked, and keeps them (the session holds its objects weakly),
    so that changing one next costs no further read."""
    session.info.setdefault(_LOCKED_KEY, {}).update({ticket.id: ticket for ticket in tickets})


def locked(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket if this unit of work holds its lock (``hold_locked``), as read then."""
    ticket: Ticket | None = session.info.get(_LOCKED_KEY, {}).get(ticket_id)
    return ticket


def with_lists(session: Session, query: sa.Select[Ticket]) -> list[Ticket]:
    """The tickets of ``query``, each with its tags and participants.

    Whether a ticket has any is asked along with it, then one query per list for the tickets that
    have some. The ORM's ``selectinload`` asks even for tickets with none, and its loaders took a
    quarter of the CPU of listing a page of 25 tickets.
    """
    rows = session.execute(query.add_columns(_HAS_TAGS, _HAS_PARTICIPANTS)).all()
    _fill_lists(session, rows)
    return [ticket for ticket, _, _ in rows]


def _fill_lists(session: Session, rows: Sequence[tuple[Ticket, bool, bool]]) -> None:
    """Gives tickets read with ``_HAS_TAGS`` and ``_HAS_PARTICIPANTS`` the tags and participants they lack,
    asking only about tickets that have some: one query for all of them, not one each."""
    for name, loading, position in (("tags", _TAGS, 1), ("participants", _PARTICIPANTS, 2)):
        wanting = [(row[0], row[position]) for row in rows if name in sa.inspect(row[0]).unloaded]
        asked = sorted(ticket.id for ticket, present in wanting if present)
        found: dict[int, list[Any]] = {}
        if asked:
            for ticket_id, item in session.execute(loading, {"ticket_ids": asked}):
                found.setdefault(ticket_id, []).append(item)
        for ticket, _ in wanting:
            set_committed_value(ticket, name, found.get(ticket.id, []))


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_locks_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_LOCKED_KEY, None)  # a rollback to a savepoint releases the locks taken after it too


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_locks_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LOCKED_KEY, None)


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
