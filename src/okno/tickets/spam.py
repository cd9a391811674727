"""The spam folder on the tickets' side: moving a ticket in and out, and who counts as a known sender.

A ticket in spam (``Ticket.spam_at`` set) stays a ticket: messages keep arriving on it and staff
can open it. It is in no inbox view but *Spam*; nobody owns it (marking unassigns it, so no
agent's load counts it); routing's queue leaves it out; the SLA clock drops its targets; and no
reaction (rules with their automatic replies, routing, webhooks) hears of its changes except the
marking itself (``tickets.reactions``). Unmarking puts it back as it is: routing takes it then,
and the SLA clock goes on with the time in spam left out, as a pause.

What the filter scores and which rules block or allow a sender is ``channels.spam``'s business;
here a marking's reasons are only the event's payload (``events.MarkedSpam``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_agent
from okno.db import utcnow
from okno.tickets import events
from okno.tickets.access import writable
from okno.tickets.events import EventKind
from okno.tickets.models import Ticket
from okno.tickets.state import assign

FILTER_ACTOR = Actor.system("spam")


def file_into_spam(session: Session, ticket: Ticket, *, details: dict[str, Any]) -> None:
    """The filter's verdict on a ticket it just opened, in the same unit of work."""
    _move_in(session, FILTER_ACTOR, ticket, details)


def mark(session: Session, actor: Actor, ticket_id: int, *, details: dict[str, Any]) -> Ticket:
    """An agent puts the ticket in spam; a ticket already there stays as it is (no second event)."""
    require_agent(actor)
    ticket = writable(session, actor, ticket_id)
    if ticket.spam_at is None:
        _move_in(session, actor, ticket, details)
    return ticket


def _move_in(session: Session, actor: Actor, ticket: Ticket, details: dict[str, Any]) -> None:
    now = utcnow(session)
    ticket.spam_at = now
    ticket.updated_at = now
    events.record(session, ticket_id=ticket.id, kind=EventKind.marked_spam, actor=actor, data=details)
    assign(session, actor, ticket, None, reason="marked_spam")


def unmark(session: Session, actor: Actor, ticket_id: int, *, details: dict[str, Any]) -> Ticket:
    """An agent says it is no spam: back to the inbox. A ticket not in spam stays as it is."""
    require_agent(actor)
    ticket = writable(session, actor, ticket_id)
    if ticket.spam_at is not None:
        ticket.spam_at = None
        ticket.updated_at = utcnow(session)
        events.record(session, ticket_id=ticket.id, kind=EventKind.unmarked_spam, actor=actor, data=details)
    return ticket


def known_sender(session: Session, customer_id: int) -> bool:
    """Whether the customer has a ticket outside the spam folder: someone the desk already deals with."""
    query = sa.select(Ticket.id).where(Ticket.customer_id == customer_id, Ticket.spam_at.is_(None)).limit(1)
    return session.scalar(query) is not None
