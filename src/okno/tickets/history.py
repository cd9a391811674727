"""A ticket's history as clocks read it: the ticket as it is now and its events in order.

For the SLA clock (``automation.sla``), which must not reach into ticket tables: it gets the
facts from here and hands back only the one value the inbox sorts by, ``sla_due_at``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.tickets.models import Ticket, TicketEvent


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    kind: str
    occurred_at: datetime
    actor_type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class TicketHistory:
    ticket_id: int
    status: str
    priority: str
    customer_plan: str
    channel: str
    team_id: int | None
    assignee_id: int | None
    created_at: datetime
    sla_due_at: datetime | None
    events: tuple[HistoryEvent, ...]
    in_spam: bool = False


def read(session: Session, ticket_id: int, *, kinds: Collection[str], lock: bool = False) -> TicketHistory | None:
    """The ticket and its events of these kinds, in the order recorded; ``lock`` holds the ticket's row.

    Locked, two workers working out the same ticket's clock take turns on PostgreSQL (SQLite
    writers take turns anyway), so the second sees what the first wrote.
    """
    query = sa.select(
        Ticket.id,
        Ticket.status,
        Ticket.priority,
        Ticket.customer_plan,
        Ticket.channel,
        Ticket.team_id,
        Ticket.assignee_id,
        Ticket.created_at,
        Ticket.sla_due_at,
        Ticket.spam_at,
    ).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update(of=Ticket)
    row = session.execute(query).first()
    if row is None:
        return None
    found = session.execute(
        sa.select(TicketEvent.id, TicketEvent.kind, TicketEvent.occurred_at, TicketEvent.actor_type, TicketEvent.data)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_(sorted(kinds)))
        .order_by(TicketEvent.id)
    )
    return TicketHistory(
        ticket_id=row.id,
        status=row.status,
        priority=row.priority,
        customer_plan=row.customer_plan,
        channel=row.channel,
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        created_at=row.created_at,
        sla_due_at=row.sla_due_at,
        events=tuple(HistoryEvent(e.id, e.kind, e.occurred_at, e.actor_type, dict(e.data or {})) for e in found),
        in_spam=row.spam_at is not None,
    )


def event_kinds(session: Session, event_ids: Iterable[int]) -> set[str]:
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    return set(session.scalars(sa.select(TicketEvent.kind).where(TicketEvent.id.in_(ids)).distinct()))


def set_sla_due(session: Session, ticket_id: int, due_at: datetime | None) -> None:
    """When the ticket's first running SLA target is due; not a change to the ticket (no event, no updated_at)."""
    session.execute(sa.update(Ticket).where(Ticket.id == ticket_id).values(sla_due_at=due_at))
