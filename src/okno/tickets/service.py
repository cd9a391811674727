"""Ticket use cases: open, answer, change. Rules live here; HTTP and CLI only call in.

Every change writes its event in the same transaction (``events.record``). Callers own
the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts import queries as accounts_queries
from okno.accounts.models import Role
from okno.accounts.permissions import Actor, forbid_fields, require_agent, visible_tickets
from okno.customers import service as customers_service
from okno.customers.models import Customer
from okno.db import next_sequence_value, utcnow
from okno.errors import Conflict, Forbidden, Invalid, NotFound
from okno.tickets import attachments, content, events, fields, lifecycle
from okno.tickets.events import EventKind
from okno.tickets.models import (
    Channel,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketParticipant,
    TicketStatus,
)
from okno.tickets.schemas import MessageCreate, MessageIn, TicketCreate, TicketUpdate

CUSTOMER_CREATE_FIELDS = {"subject", "message", "cc", "channel"}
CUSTOMER_UPDATE_FIELDS = {"status"}


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


def _writable(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    ticket = get_ticket(session, actor, ticket_id, for_update=True)
    if ticket.merged_into_id is not None:
        raise Conflict(
            "This ticket was merged into another one; write there.",
            code="ticket_merged",
            details={"merged_into_id": ticket.merged_into_id},
        )
    return ticket


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and not accounts_queries.team_exists(session, team_id):
        raise Invalid("no such team", field="team_id")


def _check_assignee(session: Session, assignee_id: int | None, team_id: int | None) -> None:
    if assignee_id is None:
        return
    if not accounts_queries.is_assignable(session, assignee_id):
        raise Invalid("the assignee must be an active agent, supervisor or admin", field="assignee_id")
    if team_id is not None and not accounts_queries.is_member(session, assignee_id, team_id):
        raise Invalid("the assignee is not on the ticket's team", field="assignee_id")


def _new_message(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    kind: MessageKind,
    message: MessageIn,
    channel: Channel,
    customer_id: int | None = None,
    external_id: str | None = None,
) -> tuple[Message, int]:
    text, safe_html = content.bodies(message.body, message.body_html)
    now = utcnow(session)
    row = Message(
        ticket_id=ticket.id,
        kind=kind,
        channel=channel,
        author_user_id=None if actor.is_customer or actor.is_system else actor.user_id,
        author_customer_id=customer_id if customer_id is not None else actor.customer_id,
        body_text=text,
        body_html=safe_html,
        external_id=external_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    attached = attachments.link(session, actor, row, message.attachment_ids)
    if kind != MessageKind.note:
        ticket.last_activity_at = now
    ticket.updated_at = now
    return row, attached


def _resolve_customer(session: Session, actor: Actor, data: TicketCreate) -> Customer:
    if actor.is_customer:
        assert actor.customer_id is not None
        return customers_service.get_customer(session, actor, actor.customer_id)
    if (data.customer is None) == (data.customer_id is None):
        raise Invalid("give either customer (email and name) or customer_id", field="customer")
    if data.customer_id is not None:
        try:
            return customers_service.get_customer(session, actor, data.customer_id)
        except NotFound:
            raise Invalid("no such customer", field="customer_id") from None
    assert data.customer is not None
    return customers_service.find_or_create_by_email(
        session, email=str(data.customer.email), name=data.customer.name
    )


def _add_participants(session: Session, ticket: Ticket, emails: list[str]) -> None:
    for email in dict.fromkeys(e.lower() for e in emails):
        person = customers_service.find_or_create_by_email(session, email=email)
        if person.id != ticket.customer_id and all(p.customer_id != person.id for p in ticket.participants):
            ticket.participants.append(TicketParticipant(customer_id=person.id, role="cc"))


def create_ticket(session: Session, actor: Actor, *, data: TicketCreate) -> Ticket:
    if actor.is_customer:
        forbid_fields(actor, set(data.model_fields_set), CUSTOMER_CREATE_FIELDS)
    else:
        require_agent(actor)
    customer = _resolve_customer(session, actor, data)
    _check_team(session, data.team_id)
    _check_assignee(session, data.assignee_id, data.team_id)
    checked_fields = fields.validate_custom_fields(session, data.custom_fields)
    now = utcnow(session)
    ticket = Ticket(
        number=next_sequence_value(session, "ticket_number_seq"),
        subject=data.subject,
        status=TicketStatus.new if data.assignee_id is None else TicketStatus.open,
        priority=data.priority,
        channel=data.channel,
        team_id=data.team_id,
        assignee_id=data.assignee_id,
        customer_id=customer.id,
        customer_plan=customers_service.effective_plan(customer).value,
        custom_fields={key: value for key, (_d, value) in checked_fields.items() if value is not None},
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        tags=fields.tags_by_name(session, data.tags),
        participants=[],
    )
    session.add(ticket)
    session.flush()
    _add_participants(session, ticket, [str(e) for e in data.cc])
    message, attached = _new_message(
        session,
        actor,
        ticket,
        kind=MessageKind.inbound,
        message=data.message,
        channel=data.channel,
        customer_id=customer.id,
    )
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.created,
        actor=actor,
        data={
            "channel": ticket.channel,
            "status": ticket.status,
            "priority": ticket.priority,
            "customer_id": customer.id,
            "team_id": ticket.team_id,
            "assignee_id": ticket.assignee_id,
            "message_id": message.id,
            "tags": [t.name for t in ticket.tags],
        },
    )
    session.flush()
    return ticket


@dataclass(frozen=True)
class Posted:
    ticket: Ticket
    message: Message


def add_message(session: Session, actor: Actor, ticket_id: int, *, data: MessageCreate) -> Posted:
    if actor.is_customer:
        if data.kind == MessageKind.note:
            raise Forbidden(
                "Customers cannot write internal notes.", details=[{"field": "kind", "reason": "note"}]
            )
        forbid_fields(actor, set(data.model_fields_set), {"body", "body_html", "attachment_ids", "kind"})
        ticket = get_ticket(session, actor, ticket_id, for_update=True)
        return receive_customer_message(session, actor, ticket, message=data, channel=Channel.api)
    if data.kind == MessageKind.note:
        if actor.role not in {Role.admin, Role.supervisor, Role.agent, Role.light_agent}:
            raise Forbidden("Your role may not write notes.")
        if data.status is not None:
            forbid_fields(actor, {"status"}, set())
        ticket = _writable(session, actor, ticket_id)
        note, attached = _new_message(
            session, actor, ticket, kind=MessageKind.note, message=data, channel=ticket.channel
        )
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.note_added,
            actor=actor,
            data={"message_id": note.id, "attachment_count": attached},
        )
        return Posted(ticket, note)
    require_agent(actor)
    ticket = _writable(session, actor, ticket_id)
    target = lifecycle.after_agent_reply(TicketStatus(ticket.status), data.status)
    _check_transition(ticket, target)
    reply, attached = _new_message(
        session, actor, ticket, kind=MessageKind.reply, message=data, channel=ticket.channel
    )
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.reply_sent,
        actor=actor,
        data={"message_id": reply.id, "channel": ticket.channel, "attachment_count": attached},
    )
    _set_status(session, actor, ticket, target)
    return Posted(ticket, reply)


def receive_customer_message(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    message: MessageIn,
    channel: Channel,
    external_id: str | None = None,
) -> Posted:
    """A customer (or participant) wrote on an existing ticket: reopen, wake up, or follow up."""
    outcome = lifecycle.on_customer_message(TicketStatus(ticket.status))
    if outcome == lifecycle.CustomerMessageOutcome.follow_up or ticket.merged_into_id is not None:
        return _follow_up(session, actor, ticket, message=message, channel=channel, external_id=external_id)
    row, attached = _new_message(
        session,
        actor,
        ticket,
        kind=MessageKind.inbound,
        message=message,
        channel=channel,
        external_id=external_id,
    )
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.message_received,
        actor=actor,
        data={"message_id": row.id, "channel": channel, "attachment_count": attached},
    )
    if outcome == lifecycle.CustomerMessageOutcome.reopens:
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.reopened,
            actor=actor,
            data={"old_status": ticket.status, "message_id": row.id},
        )
        _set_status(session, actor, ticket, TicketStatus.open)
    elif outcome == lifecycle.CustomerMessageOutcome.becomes_open:
        _set_status(session, actor, ticket, TicketStatus.open)
    return Posted(ticket, row)


def _follow_up(
    session: Session,
    actor: Actor,
    previous: Ticket,
    *,
    message: MessageIn,
    channel: Channel,
    external_id: str | None,
) -> Posted:
    now = utcnow(session)
    ticket = Ticket(
        number=next_sequence_value(session, "ticket_number_seq"),
        subject=previous.subject,
        status=TicketStatus.new,
        priority=Priority.normal,
        channel=channel,
        team_id=previous.team_id,
        assignee_id=None,
        customer_id=previous.customer_id,
        customer_plan=previous.customer_plan,
        language=previous.language,
        follow_up_of_id=previous.id,
        custom_fields={},
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        tags=[],
        participants=[],
    )
    session.add(ticket)
    session.flush()
    row, _attached = _new_message(
        session,
        actor,
        ticket,
        kind=MessageKind.inbound,
        message=message,
        channel=channel,
        customer_id=previous.customer_id if not actor.is_customer else None,
        external_id=external_id,
    )
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.created,
        actor=actor,
        data={
            "channel": channel,
            "status": ticket.status,
            "priority": ticket.priority,
            "customer_id": ticket.customer_id,
            "team_id": ticket.team_id,
            "message_id": row.id,
            "follow_up_of_id": previous.id,
        },
    )
    link = {"previous_ticket_id": previous.id, "follow_up_ticket_id": ticket.id}
    events.record(session, ticket_id=previous.id, kind=EventKind.follow_up_created, actor=actor, data=link)
    session.flush()
    return Posted(ticket, row)


def _check_transition(ticket: Ticket, target: TicketStatus) -> None:
    current = TicketStatus(ticket.status)
    if not lifecycle.can_transition(current, target):
        allowed = sorted(s.value for s in lifecycle.ALLOWED[current])
        raise Conflict(
            f"A {current.value} ticket cannot become {target.value}.",
            code="invalid_transition",
            details={"field": "status", "from": current.value, "to": target.value, "allowed": allowed},
        )


def _set_status(session: Session, actor: Actor, ticket: Ticket, target: TicketStatus) -> None:
    current = TicketStatus(ticket.status)
    if current == target:
        return
    _check_transition(ticket, target)
    now = utcnow(session)
    ticket.status = target
    ticket.updated_at = now
    if target == TicketStatus.solved:
        ticket.solved_at = now
    elif target == TicketStatus.closed:
        ticket.closed_at = now
    elif current == TicketStatus.solved:
        ticket.solved_at = None
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.status_changed,
        actor=actor,
        data={"old": current.value, "new": target.value},
    )


def _assign(session: Session, actor: Actor, ticket: Ticket, assignee_id: int | None, *, reason: str) -> None:
    if ticket.assignee_id == assignee_id:
        return
    old = ticket.assignee_id
    ticket.assignee_id = assignee_id
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.assigned,
        actor=actor,
        data={"old": old, "new": assignee_id, "reason": reason},
    )
    if assignee_id is not None and ticket.status == TicketStatus.new:
        _set_status(session, actor, ticket, TicketStatus.open)


def update_ticket(session: Session, actor: Actor, ticket_id: int, *, changes: TicketUpdate) -> Ticket:
    given = set(changes.model_fields_set)
    if actor.is_customer:
        forbid_fields(actor, given, CUSTOMER_UPDATE_FIELDS)
        if changes.status not in lifecycle.CUSTOMER_TARGETS:
            raise Forbidden("Customers may only mark their tickets solved.", details=[{"field": "status"}])
    else:
        require_agent(actor)
    ticket = _writable(session, actor, ticket_id)
    if changes.status is not None:
        _check_transition(ticket, changes.status)
    if "team_id" in given and changes.team_id != ticket.team_id:
        _check_team(session, changes.team_id)
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
            _assign(session, actor, ticket, None, reason="team_changed")
    if "assignee_id" in given:
        _check_assignee(session, changes.assignee_id, ticket.team_id)
        _assign(session, actor, ticket, changes.assignee_id, reason="manual")
    if changes.status is not None:
        _set_status(session, actor, ticket, changes.status)
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
    locked = {t: _writable(session, actor, t) for t in (first, second)}
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
    moved = session.execute(
        sa.update(Message).where(Message.ticket_id == source.id).values(ticket_id=target.id)
    ).rowcount
    people = {p.customer_id for p in target.participants} | {target.customer_id}
    for customer_id in [source.customer_id, *(p.customer_id for p in source.participants)]:
        if customer_id not in people:
            target.participants.append(TicketParticipant(customer_id=customer_id, role="cc"))
            people.add(customer_id)
    _change_tags(session, actor, target, TicketUpdate(add_tags=[t.name for t in source.tags]))
    now = utcnow(session)
    target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
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
        _assign(session, actor, ticket, None, reason=reason)
        ticket.updated_at = utcnow(session)
    return len(tickets)


def team_has_tickets(session: Session, team_id: int) -> bool:
    return session.scalar(sa.select(Ticket.id).where(Ticket.team_id == team_id).limit(1)) is not None
