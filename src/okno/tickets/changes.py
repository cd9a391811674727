"""Changing tickets: fields, owners, tags, merging, and handing work back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, forbid_fields, require_admin, require_agent
from okno.db import utcnow
from okno.errors import Conflict, Forbidden, Invalid, NotFound
from okno.tickets import events, fields, lifecycle
from okno.tickets.access import writable
from okno.tickets.events import EventKind
from okno.tickets.models import Message, Tag, Ticket, TicketParticipant, TicketStatus, TicketTag
from okno.tickets.schemas import TicketUpdate
from okno.tickets.state import assign, check_assignee, check_team, check_transition, set_status

CUSTOMER_UPDATE_FIELDS = {"status"}


def update_ticket(session: Session, actor: Actor, ticket_id: int, *, changes: TicketUpdate) -> Ticket:
    given = set(changes.model_fields_set)
    if actor.is_customer:
        forbid_fields(actor, given, CUSTOMER_UPDATE_FIELDS)
        if changes.status not in lifecycle.CUSTOMER_TARGETS:
            raise Forbidden("Customers may only mark their tickets solved.", details=[{"field": "status"}])
    else:
        require_agent(actor)
    ticket = writable(session, actor, ticket_id)
    if changes.status is not None:
        check_transition(ticket, changes.status)
    if "team_id" in given and changes.team_id != ticket.team_id:
        check_team(session, changes.team_id)
        old_team = ticket.team_id
        ticket.team_id = changes.team_id
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.team_changed,
            actor=actor,
            data={"old": old_team, "new": changes.team_id},
        )
        keeps_assignee = "assignee_id" in given or ticket.assignee_id is None or changes.team_id is None
        if not keeps_assignee and not accounts_queries.is_member(
            session, ticket.assignee_id or 0, changes.team_id or 0
        ):
            assign(session, actor, ticket, None, reason="team_changed")
    if "assignee_id" in given:
        check_assignee(session, changes.assignee_id, ticket.team_id)
        assign(session, actor, ticket, changes.assignee_id, reason="manual")
    if changes.status is not None:
        set_status(session, actor, ticket, changes.status)
    if changes.priority is not None and changes.priority != ticket.priority:
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.priority_changed,
            actor=actor,
            data={"old": ticket.priority, "new": changes.priority.value},
        )
        ticket.priority = changes.priority
    if changes.customer_plan is not None and changes.customer_plan != ticket.customer_plan:
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.plan_changed,
            actor=actor,
            data={"old": ticket.customer_plan, "new": changes.customer_plan.value},
        )
        ticket.customer_plan = changes.customer_plan.value
    if changes.subject is not None and changes.subject != ticket.subject:
        ticket.subject = changes.subject
        events.record(
            session, ticket_id=ticket.id, kind=EventKind.field_changed, actor=actor, data={"field": "subject"}
        )
    _change_tags(session, actor, ticket, changes)
    if changes.custom_fields:
        _change_custom_fields(session, actor, ticket, changes.custom_fields)
    ticket.updated_at = utcnow(session)
    session.flush()
    return ticket


def _change_tags(session: Session, actor: Actor, ticket: Ticket, changes: TicketUpdate) -> None:
    if changes.tags is None and not changes.add_tags and not changes.remove_tags:
        return
    names = set(changes.tags) if changes.tags is not None else {t.name for t in ticket.tags}
    names |= set(changes.add_tags or [])
    names -= set(changes.remove_tags or [])
    added, removed = fields.set_tags(session, ticket, names)
    if added or removed:
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.tags_changed,
            actor=actor,
            data={"added": added, "removed": removed},
        )


def _change_custom_fields(session: Session, actor: Actor, ticket: Ticket, values: dict[str, Any]) -> None:
    checked = fields.validate_custom_fields(session, values)
    current = dict(ticket.custom_fields)
    for key, (definition, value) in checked.items():
        old = current.get(key)
        if old == value:
            continue
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.field_changed,
            actor=actor,
            data={
                "field": f"custom_fields.{key}",
                "old": fields.loggable(definition, old),
                "new": fields.loggable(definition, value),
            },
        )
    ticket.custom_fields = current


def merge(
    session: Session, actor: Actor, source_id: int, *, target_id: int, confirm_different_customers: bool
) -> Ticket:
    """Moves the source's messages, tags and people into the target; the source closes, pointing at it."""
    require_agent(actor)
    if source_id == target_id:
        raise Invalid("a ticket cannot be merged into itself", field="target_ticket_id")
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted((source_id, target_id))
    locked = {t: writable(session, actor, t) for t in (first, second)}
    source, target = locked[source_id], locked[target_id]
    if target.status == TicketStatus.closed:
        raise Conflict("Cannot merge into a closed ticket.", code="target_closed")
    if source.customer_id != target.customer_id and not confirm_different_customers:
        raise Conflict(
            "The tickets belong to different customers; confirm to merge them anyway.",
            code="different_customers",
            details={
                "field": "confirm_different_customers",
                "source_customer_id": source.customer_id,
                "target_customer_id": target.customer_id,
            },
        )
    moved = session.scalar(sa.select(sa.func.count()).where(Message.ticket_id == source.id)) or 0
    session.execute(sa.update(Message).where(Message.ticket_id == source.id).values(ticket_id=target.id))
    people = {p.customer_id for p in target.participants} | {target.customer_id}
    for customer_id in [source.customer_id, *(p.customer_id for p in source.participants)]:
        if customer_id not in people:
            target.participants.append(TicketParticipant(customer_id=customer_id, role="cc"))
            people.add(customer_id)
    _change_tags(session, actor, target, TicketUpdate(add_tags=[t.name for t in source.tags]))
    now = utcnow(session)
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
    # The source's unanswered messages now wait in the target.
    waiting = [t.waiting_since for t in (source, target) if t.waiting_since is not None]
    target.waiting_since = min(waiting) if waiting else None
    source.waiting_since = None
    target.updated_at = now
    payload = {"source_ticket_id": source.id, "target_ticket_id": target.id, "moved_message_count": moved}
    events.record(session, ticket_id=source.id, kind=EventKind.merged, actor=actor, data=payload)
    events.record(session, ticket_id=target.id, kind=EventKind.merged, actor=actor, data=payload)
    # A merged ticket closes whatever its status: its conversation lives on in the target.
    events.record(
        session,
        ticket_id=source.id,
        kind=EventKind.status_changed,
        actor=actor,
        data={"old": source.status, "new": TicketStatus.closed.value},
    )
    source.status = TicketStatus.closed
    source.closed_at = now
    source.updated_at = source.status_changed_at = now
    source.merged_into_id = target.id
    session.flush()
    return target


def move_customer(session: Session, actor: Actor, *, from_customer_id: int, to_customer_id: int, reason: str) -> int:
    """Gives every ticket of one customer record to another (the same person), each with its event.

    All of the record's tickets move, also those on teams the actor cannot see: a person's
    history is not split by who happened to merge the records. Participations move too (or
    disappear where the new record is already on the ticket). Returns the number of tickets.
    """
    require_agent(actor)
    now = utcnow(session)
    tickets = list(
        session.scalars(
            sa.select(Ticket)
            .where(Ticket.customer_id == from_customer_id)
            .options(selectinload(Ticket.participants))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
        )
    )
    for ticket in tickets:
        ticket.customer_id = to_customer_id
        ticket.updated_at = now
        # The new record may have been copied on this ticket; it is now its customer instead.
        ticket.participants = [p for p in ticket.participants if p.customer_id != to_customer_id]
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.customer_changed,
            actor=actor,
            data={"old": from_customer_id, "new": to_customer_id, "reason": reason},
        )
    copied = list(
        session.scalars(
            sa.select(TicketParticipant)
            .where(TicketParticipant.customer_id == from_customer_id)
            .order_by(TicketParticipant.id)
        )
    )
    for participation in copied:
        already = session.scalar(
            sa.select(Ticket.id).where(
                Ticket.id == participation.ticket_id,
                sa.or_(
                    Ticket.customer_id == to_customer_id,
                    Ticket.id.in_(
                        sa.select(TicketParticipant.ticket_id).where(TicketParticipant.customer_id == to_customer_id)
                    ),
                ),
            )
        )
        if already is not None:
            session.delete(participation)
        else:
            participation.customer_id = to_customer_id
    session.flush()
    return len(tickets)


def release_assignments(session: Session, actor: Actor, *, assignee_id: int, reason: str) -> int:
    """Hands an agent's unfinished tickets back to their teams (assignee cleared, team kept)."""
    open_statuses = [TicketStatus.new, TicketStatus.open, TicketStatus.pending, TicketStatus.on_hold]
    tickets = list(
        session.scalars(
            sa.select(Ticket)
            .where(Ticket.assignee_id == assignee_id, Ticket.status.in_(open_statuses))
            .order_by(Ticket.id)
            .with_for_update()
        )
    )
    for ticket in tickets:
        assign(session, actor, ticket, None, reason=reason)
        ticket.updated_at = utcnow(session)
    return len(tickets)


def team_has_tickets(session: Session, team_id: int) -> bool:
    return session.scalar(sa.select(Ticket.id).where(Ticket.team_id == team_id).limit(1)) is not None


def merge_tags(session: Session, actor: Actor, source_id: int, *, target_id: int) -> int:
    """Every ticket with the source tag gets the target tag instead, and the source tag goes.

    Unlike a rename, tickets' tag sets change, so each changed ticket's history records it
    (closed and merged tickets too: the vocabulary changes, not the work). Returns how many
    tickets changed.
    """
    require_admin(actor)
    if source_id == target_id:
        raise Invalid("a tag cannot be merged into itself", field="target_id", code="merge_into_itself")
    source, target = session.get(Tag, source_id), session.get(Tag, target_id)
    if source is None:
        raise NotFound("Tag not found.")
    if target is None:
        raise Invalid("no such tag", field="target_id")
    tickets = list(
        session.scalars(
            sa.select(Ticket)
            .join(TicketTag, TicketTag.ticket_id == Ticket.id)
            .where(TicketTag.tag_id == source.id)
            .options(selectinload(Ticket.tags))
            .order_by(Ticket.id)
            .with_for_update(of=Ticket)
        )
    )
    now = utcnow(session)
    for ticket in tickets:
        names = ({t.name for t in ticket.tags} - {source.name}) | {target.name}
        added, removed = fields.set_tags(session, ticket, names)
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.tags_changed,
            actor=actor,
            data={"added": added, "removed": removed},
        )
        ticket.updated_at = now
    session.flush()
    session.delete(source)
    session.flush()
    return len(tickets)
