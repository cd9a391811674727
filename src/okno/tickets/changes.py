"""Changing tickets: fields, owners, tags, merging, and handing work back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, forbid_fields, require_agent
from okno.db import utcnow
from okno.errors import Conflict, Forbidden, Invalid
from okno.tickets import events, fields, lifecycle
from okno.tickets.access import writable
from okno.tickets.events import EventKind
from okno.tickets.models import Message, Ticket, TicketParticipant, TicketStatus
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
    source.updated_at = now
    source.merged_into_id = target.id
    session.flush()
    return target


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
