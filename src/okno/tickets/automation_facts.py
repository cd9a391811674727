"""What automations read about tickets: a change's events, message texts, tickets in a state since when.

Read-only and without permissions (automations act as the system). The time-based queries walk
tickets longest in their state first, a batch at a time, through indexes on the ticket (status
and since when, assignee, waiting time). Only "unassigned" computes when the state began from
the ticket's own history, found through its (ticket, id) index: no table scan of the event log,
and unassigned tickets are few. Tickets in the spam folder are never among them: no automation
acts on spam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.tickets.models import Message, MessageKind, Ticket, TicketEvent, TicketStatus

UNFINISHED = (TicketStatus.new, TicketStatus.open, TicketStatus.pending, TicketStatus.on_hold)
STATES = ("pending", "solved", "unassigned", "awaiting_reply")
_EVENTS_KEY = "okno.change_events"


@dataclass(frozen=True)
class EventFact:
    id: int
    kind: str
    actor_type: str
    actor_id: int | None
    data: dict[str, Any]

    @classmethod
    def of_row(cls, event_id: int, kind: str, actor_type: str, actor_id: int | None, data: Any) -> EventFact:
        return cls(int(event_id), str(kind), str(actor_type), actor_id, dict(data or {}))


_EVENTS = cast(sa.Table, TicketEvent.__table__)
# Every reaction to every change runs it: built once.
_EVENTS_BY_ID = (
    sa.select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.actor_type, _EVENTS.c.actor_id, _EVENTS.c.data)
    .where(_EVENTS.c.id.in_(sa.bindparam("event_ids", expanding=True)))
    .order_by(_EVENTS.c.id)
)


def events(session: Session, event_ids: list[int]) -> list[EventFact]:
    """A change's events, in order; read once per unit of work (events never change).

    Found by id alone: a merge may have moved them to another ticket since.
    """
    known = _known_events(session)
    key = tuple(sorted(event_ids))
    if key not in known:
        known[key] = [EventFact.of_row(*row) for row in session.execute(_EVENTS_BY_ID, {"event_ids": list(key)})]
    return list(known[key])


def as_carried(events: list[TicketEvent]) -> list[list[Any]]:
    """A change's events as a job carries them (JSON), so that its reactions need not read them again."""
    return [[e.id, e.kind, str(e.actor_type), e.actor_id, e.data or {}] for e in sorted(events, key=lambda e: e.id)]


def remember_carried(session: Session, carried: list[list[Any]]) -> None:
    """What ``events`` answers for the change whose events a job carried (``as_carried``)."""
    facts = [EventFact.of_row(*row) for row in carried]
    _known_events(session)[tuple(fact.id for fact in facts)] = facts


def _known_events(session: Session) -> dict[tuple[int, ...], list[EventFact]]:
    known: dict[tuple[int, ...], list[EventFact]] = session.info.setdefault(_EVENTS_KEY, {})
    return known


def customer_texts(session: Session, ticket_id: int, message_ids: list[int]) -> list[str]:
    """The texts of these messages that came from the customer, or (none given) the ticket's first one."""
    query = sa.select(Message.body_text).where(Message.ticket_id == ticket_id, Message.kind == MessageKind.inbound)
    if message_ids:
        return list(session.scalars(query.where(Message.id.in_(message_ids)).order_by(Message.id)))
    return list(session.scalars(query.order_by(Message.id).limit(1)))


def recent_ticket_ids(session: Session, limit: int) -> list[int]:
    """The newest tickets (by creation), not merged away nor in spam: what a rule's dry run looks at."""
    query = (
        sa.select(Ticket.id)
        .where(Ticket.merged_into_id.is_(None), Ticket.spam_at.is_(None))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def automatic_replies_since(session: Session, customer_id: int, since: datetime) -> int:
    """Public replies no person wrote (rules' auto-replies) on this customer's tickets since then."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Ticket.customer_id == customer_id,
                Message.kind == MessageKind.reply,
                Message.author_user_id.is_(None),
                Message.created_at > since,
            )
        )
        or 0
    )


@dataclass(frozen=True)
class InState:
    ticket_id: int
    since: datetime
    team_id: int | None


def _last_event(kind: str) -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.max(TicketEvent.occurred_at))
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == kind)
        .scalar_subquery()
    )


# Given the ticket's id and when its state began, what leaves a ticket out (say, "this rule fired for it").
Exclusion = Callable[[Any, Any], sa.ColumnElement[bool]]


def in_state_since(
    session: Session,
    state: str,
    *,
    before: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
    unless: Exclusion | None = None,
) -> list[InState]:
    """Tickets in ``state`` since ``before`` or earlier, longest first: at most ``limit``.

    In (since, id) order, after ``after`` (the last one of the previous batch), so that the
    indexes on when a state began serve both the cut-off and the order: a walk reads the due
    tickets, not every ticket in the state. ``unless`` leaves tickets out in the query itself, so
    that a walk skips the tickets it is done with instead of reading them again every time.

    pending: since its last status change (a ticket opened as pending: since it was created), kept
    on the ticket (``status_changed_at``); solved: since it was solved; unassigned (new or open,
    nobody assigned): since its last assignment change, else since it was created; awaiting_reply
    (unfinished, the customer's message unanswered): since the oldest unanswered message.
    """
    if state == "pending":
        since: Any = Ticket.status_changed_at
        where: list[Any] = [Ticket.status == TicketStatus.pending]
    elif state == "solved":
        since = Ticket.solved_at
        where = [Ticket.status == TicketStatus.solved, Ticket.solved_at.is_not(None)]
    elif state == "unassigned":
        since = sa.func.coalesce(_last_event("assigned"), Ticket.created_at)
        where = [Ticket.assignee_id.is_(None), Ticket.status.in_([TicketStatus.new, TicketStatus.open])]
    elif state == "awaiting_reply":
        since = Ticket.waiting_since
        where = [Ticket.waiting_since.is_not(None), Ticket.status.in_(UNFINISHED)]
    else:
        raise ValueError(f"unknown state {state!r}")
    if after is not None:
        after_since, after_id = after
        # The first term alone is what an index range can start from; the second breaks ties by id.
        where += [since >= after_since, sa.or_(since > after_since, Ticket.id > after_id)]
    if unless is not None:
        where.append(sa.not_(unless(Ticket.id, since)))
    rows = session.execute(
        sa.select(Ticket.id, since.label("since"), Ticket.team_id)
        .where(*where, Ticket.merged_into_id.is_(None), Ticket.spam_at.is_(None), since <= before)
        .order_by(since, Ticket.id)
        .limit(limit)
    )
    return [InState(ticket_id, at, team_id) for ticket_id, at, team_id in rows]
