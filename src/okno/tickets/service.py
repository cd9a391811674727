"""Ticket use cases of the conversation: open a ticket, answer it, receive a customer's message.

Every change writes its event in the same transaction (``events.record``). Callers own
the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.models import Role
from okno.accounts.permissions import Actor, forbid_fields, require_agent
from okno.customers import service as customers_service
from okno.db import keep, number_from_sequence, utcnow
from okno.errors import Conflict, Forbidden, Invalid, NotFound
from okno.jobs.registry import enqueue
from okno.notifications import service as notifications
from okno.tickets import attachments, content, events, fields, lifecycle, mentions
from okno.tickets.access import get_ticket, writable
from okno.tickets.events import EventKind
from okno.tickets.models import (
    DELIVERING_CHANNELS,
    Channel,
    DeliveryStatus,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketParticipant,
    TicketStatus,
)
from okno.tickets.schemas import MessageCreate, MessageIn, TicketCreate
from okno.tickets.state import check_assignee, check_team, check_transition, set_status

if TYPE_CHECKING:
    from okno.customers.models import Customer

CUSTOMER_CREATE_FIELDS = {"subject", "message", "cc", "channel"}
# Run by the channel that delivers the reply (okno.channels.delivery).
DELIVER_REPLY_JOB = "channels.deliver_reply"


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
    language: str | None = None,
    at: datetime | None = None,
) -> tuple[Message, int]:
    """A message on the ticket; ``at`` is given for a ticket's first message, made with the ticket."""
    # What agents write is Markdown-lite (bold, italic, lists, links, code); outside text is plain.
    written_by_staff = kind != MessageKind.inbound and actor.is_staff
    text, safe_html = content.bodies(message.body, message.body_html, markdown=written_by_staff)
    now = at or utcnow(session)
    row = Message(
        ticket=ticket,  # a new ticket has no id yet: the flush below writes both
        kind=kind,
        channel=channel,
        author_user_id=None if actor.is_customer or actor.is_system else actor.user_id,
        author_customer_id=customer_id if customer_id is not None else actor.customer_id,
        body_text=text,
        body_html=safe_html,
        external_id=external_id,
        language=language,
        created_at=now,
    )
    session.add(row)
    session.flush()
    attached = attachments.link(session, actor, row, message.attachment_ids)
    if kind != MessageKind.note:
        ticket.last_activity_at = now
    # The customer waits from their oldest unanswered message; a public reply answers them all,
    # except a rule's automatic one (an auto-reply, a reminder): the customer still waits for a person.
    if kind == MessageKind.inbound and ticket.waiting_since is None:
        ticket.waiting_since = now
    elif kind == MessageKind.reply and actor.rule_id is None:
        ticket.waiting_since = None
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
            customer = customers_service.get_customer(session, actor, data.customer_id)
        except NotFound:
            raise Invalid("no such customer", field="customer_id") from None
        if customer.merged_into_id is not None:
            # An id from before a merge (a CRM, an old link): the person lives on in the record that stayed.
            return customers_service.get_customer(session, actor, customer.merged_into_id)
        return customer
    assert data.customer is not None
    return customers_service.find_or_create_by_email(session, email=str(data.customer.email), name=data.customer.name)


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
    keep(session, customer)  # the answer and the realtime feed name the customer and their organization
    ticket, _first = _open(session, actor, customer, data)
    return ticket


def _open(
    session: Session,
    actor: Actor,
    customer: Customer,
    data: TicketCreate,
    *,
    external_id: str | None = None,
    language: str | None = None,
) -> tuple[Ticket, Message]:
    check_team(session, data.team_id)
    check_assignee(session, data.assignee_id, data.team_id)
    checked_fields = fields.validate_custom_fields(session, data.custom_fields)
    now = utcnow(session)
    # An outbound ticket starts with the agent's message: the next move is the customer's.
    status = TicketStatus.new if data.assignee_id is None else TicketStatus.open
    ticket = Ticket(
        subject=data.subject,
        status=TicketStatus.pending if data.outbound else status,
        priority=data.priority,
        channel=data.channel,
        team_id=data.team_id,
        assignee_id=data.assignee_id,
        customer_id=customer.id,
        customer_plan=customers_service.effective_plan(customer).value,
        language=language,
        custom_fields={key: value for key, (_d, value) in checked_fields.items() if value is not None},
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        last_activity_at=now,
        waiting_since=now,  # its first message is the customer's
        tags=fields.tags_by_name(session, data.tags),
        participants=[],
    )
    number_from_sequence(session, ticket, "number", "ticket_number_seq")
    session.add(ticket)
    _add_participants(session, ticket, [str(e) for e in data.cc])
    message, attached = _new_message(
        session,
        actor,
        ticket,
        kind=MessageKind.reply if data.outbound else MessageKind.inbound,
        message=data.message,
        channel=data.channel,
        customer_id=None if data.outbound else customer.id,
        external_id=external_id,
        language=language,
        at=ticket.created_at,
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
    if data.outbound:
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.reply_sent,
            actor=actor,
            data={"message_id": message.id, "channel": ticket.channel, "attachment_count": attached},
        )
    session.flush()
    return ticket, message


@dataclass(frozen=True)
class Posted:
    ticket: Ticket
    message: Message


def add_message(session: Session, actor: Actor, ticket_id: int, *, data: MessageCreate) -> Posted:
    if actor.is_customer:
        if data.kind == MessageKind.note:
            raise Forbidden("Customers cannot write internal notes.", details=[{"field": "kind", "reason": "note"}])
        forbid_fields(actor, set(data.model_fields_set), {"body", "body_html", "attachment_ids", "kind"})
        ticket = get_ticket(session, actor, ticket_id, for_update=True)
        return receive_customer_message(session, actor, ticket, message=data, channel=Channel.api)
    if data.kind == MessageKind.note:
        if actor.role not in {Role.admin, Role.supervisor, Role.agent, Role.light_agent}:
            raise Forbidden("Your role may not write notes.")
        if data.status is not None:
            forbid_fields(actor, {"status"}, set())
        ticket = writable(session, actor, ticket_id)
        mentioned = mentions.check(session, ticket, data.mentioned_user_ids)
        note, attached = _new_message(
            session, actor, ticket, kind=MessageKind.note, message=data, channel=ticket.channel
        )
        events.record(
            session,
            ticket_id=ticket.id,
            kind=EventKind.note_added,
            actor=actor,
            data={"message_id": note.id, "attachment_count": attached, "mentioned_user_ids": mentioned},
        )
        notifications.notify_mentioned(session, actor, user_ids=mentioned, ticket_id=ticket.id, message_id=note.id)
        return Posted(ticket, note)
    if data.mentioned_user_ids:
        raise Invalid("Mentions notify colleagues in internal notes only.", field="mentioned_user_ids")
    require_agent(actor)
    ticket = writable(session, actor, ticket_id)
    if data.seen_message_id is not None:
        _refuse_if_replied_meanwhile(session, actor, ticket, data.seen_message_id)
    target = lifecycle.after_agent_reply(TicketStatus(ticket.status), data.status)
    check_transition(ticket, target)
    reply, attached = _new_message(session, actor, ticket, kind=MessageKind.reply, message=data, channel=ticket.channel)
    if ticket.channel in DELIVERING_CHANNELS:
        reply.delivery_status = DeliveryStatus.queued
        enqueue(session, DELIVER_REPLY_JOB, {"message_id": reply.id}, key=f"deliver-reply:{reply.id}")
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.reply_sent,
        actor=actor,
        data={"message_id": reply.id, "channel": ticket.channel, "attachment_count": attached},
    )
    set_status(session, actor, ticket, target)
    return Posted(ticket, reply)


def _refuse_if_replied_meanwhile(session: Session, actor: Actor, ticket: Ticket, seen_message_id: int) -> None:
    newer = session.execute(
        sa.select(Message.id, Message.author_user_id)
        .where(
            Message.ticket_id == ticket.id,
            Message.kind == MessageKind.reply,
            Message.id > seen_message_id,
            Message.author_user_id.is_distinct_from(actor.user_id),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    if newer is not None:
        raise Conflict(
            "A colleague replied while you were writing; read their answer before sending yours.",
            code="replied_meanwhile",
            details={"message_id": newer[0], "author_user_id": newer[1]},
        )


@dataclass(frozen=True)
class Incoming:
    """A customer's message from a channel, as tickets need it (the channel did the parsing).

    ``continues_ticket_id`` is the ticket the channel found this message belongs to (an email's
    In-Reply-To, a chat's conversation), already checked against the sender; ``team_id`` is where
    a new ticket goes (the mailbox's or the topic's team).
    """

    channel: Channel
    subject: str
    message: MessageIn
    external_id: str | None = None
    language: str | None = None
    team_id: int | None = None
    continues_ticket_id: int | None = None
    cc: tuple[str, ...] = ()


def receive(session: Session, customer: Actor, incoming: Incoming) -> Posted:
    """A message from outside: continues its ticket (reopening or following up), or opens a new one."""
    if not customer.is_customer or customer.customer_id is None:
        raise Forbidden("Only a customer's own message can be received from a channel.")
    if incoming.continues_ticket_id is not None:
        ticket = get_ticket(session, customer, incoming.continues_ticket_id, for_update=True)
        _add_participants(session, ticket, list(incoming.cc))
        return receive_customer_message(
            session,
            customer,
            ticket,
            message=incoming.message,
            channel=incoming.channel,
            external_id=incoming.external_id,
            language=incoming.language,
        )
    data = TicketCreate(
        subject=(incoming.subject or "").strip()[:500] or "(no subject)",
        message=incoming.message,
        channel=incoming.channel,
        team_id=incoming.team_id,
        cc=[],
    )
    person = customers_service.get_customer(session, customer, customer.customer_id)
    ticket, first = _open(session, customer, person, data, external_id=incoming.external_id, language=incoming.language)
    _add_participants(session, ticket, list(incoming.cc))
    return Posted(ticket, first)


def receive_customer_message(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    message: MessageIn,
    channel: Channel,
    external_id: str | None = None,
    language: str | None = None,
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
        language=language,
    )
    if language and not ticket.language:
        ticket.language = language
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
        set_status(session, actor, ticket, TicketStatus.open)
    elif outcome == lifecycle.CustomerMessageOutcome.becomes_open:
        set_status(session, actor, ticket, TicketStatus.open)
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
        status_changed_at=now,
        last_activity_at=now,
        waiting_since=now,  # its first message is the customer's
        tags=[],
        participants=[],
    )
    number_from_sequence(session, ticket, "number", "ticket_number_seq")
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
        at=ticket.created_at,
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
