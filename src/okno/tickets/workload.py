"""Who works on what: the facts about tickets that assignment by routing needs, and the assignment itself.

Routing (``okno.routing``) decides; this module reads the tickets it decides about, counts
agents' open conversations, and records its assignments through ``state.assign``, so each
is an ``assigned`` event like any other.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.db import utcnow
from okno.tickets.models import Tag, Ticket, TicketEvent, TicketTag
from okno.tickets.state import assign

ROUTING_ACTOR = Actor.system("routing")


@dataclass(frozen=True)
class WorkItem:
    ticket_id: int
    status: str
    team_id: int | None
    assignee_id: int | None
    channel: str
    language: str | None
    tags: frozenset[str]
    priority_rank: int
    waiting_since: datetime | None
    created_at: datetime
    merged: bool


@dataclass(frozen=True)
class EventFact:
    id: int
    kind: str
    actor_type: str
    actor_id: int | None
    data: dict[str, Any]


def work_items(
    session: Session, ticket_ids: Collection[int], *, lock: Literal["no", "wait", "skip"] = "no"
) -> dict[int, WorkItem]:
    """The tickets by id; locked for update (waiting for, or skipping, tickets others hold) when asked.

    Skipped and missing tickets are absent. A locked ticket stays in the session, so assigning
    it next costs no further read.
    """
    if not ticket_ids:
        return {}
    query = sa.select(Ticket).where(Ticket.id.in_(sorted(ticket_ids))).order_by(Ticket.id)
    if lock != "no":
        query = query.with_for_update(of=Ticket, skip_locked=lock == "skip").execution_options(populate_existing=True)
    tickets = list(session.scalars(query))
    tags: dict[int, set[str]] = {}
    if tickets:
        rows = session.execute(
            sa.select(TicketTag.ticket_id, Tag.name)
            .join(Tag, Tag.id == TicketTag.tag_id)
            .where(TicketTag.ticket_id.in_([t.id for t in tickets]))
        )
        for ticket_id, name in rows:
            tags.setdefault(ticket_id, set()).add(name)
    return {
        t.id: WorkItem(
            ticket_id=t.id,
            status=str(t.status),
            team_id=t.team_id,
            assignee_id=t.assignee_id,
            channel=str(t.channel),
            language=t.language,
            tags=frozenset(tags.get(t.id, ())),
            priority_rank=t.priority_rank,
            waiting_since=t.waiting_since,
            created_at=t.created_at,
            merged=t.merged_into_id is not None,
        )
        for t in tickets
    }


def loads(session: Session, user_ids: Collection[int], *, statuses: Iterable[str]) -> dict[int, dict[str, int]]:
    """Per agent and channel, how many tickets assigned to them are in one of ``statuses``."""
    if not user_ids:
        return {}
    rows = session.execute(
        sa.select(Ticket.assignee_id, Ticket.channel, sa.func.count())
        .where(Ticket.assignee_id.in_(sorted(user_ids)), Ticket.status.in_(sorted(statuses)))
        .group_by(Ticket.assignee_id, Ticket.channel)
    )
    found: dict[int, dict[str, int]] = {}
    for user_id, channel, count in rows:
        found.setdefault(int(user_id or 0), {})[str(channel)] = int(count)
    return found


def event_facts(session: Session, event_ids: Collection[int]) -> list[EventFact]:
    if not event_ids:
        return []
    rows = session.execute(
        sa.select(TicketEvent.id, TicketEvent.kind, TicketEvent.actor_type, TicketEvent.actor_id, TicketEvent.data)
        .where(TicketEvent.id.in_(sorted(event_ids)))
        .order_by(TicketEvent.id)
    )
    return [EventFact(i, kind, str(who), by, dict(data or {})) for i, kind, who, by, data in rows]


def assign_routed(
    session: Session, ticket_id: int, assignee_id: int | None, *, reason: str, routing: dict[str, Any] | None
) -> None:
    """Assigns (or, with None, hands back) a ticket the caller has locked, as routing decided."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} is gone")
    assign(session, ROUTING_ACTOR, ticket, assignee_id, reason=reason, routing=routing)
    ticket.updated_at = utcnow(session)


def unanswered(
    session: Session, user_ids: Collection[int], *, channels: Iterable[str], statuses: Iterable[str]
) -> dict[int, list[int]]:
    """Per agent, their tickets on these channels and statuses whose customer waits for an answer."""
    if not user_ids:
        return {}
    rows = session.execute(
        sa.select(Ticket.assignee_id, Ticket.id)
        .where(
            Ticket.assignee_id.in_(sorted(user_ids)),
            Ticket.status.in_(sorted(statuses)),
            Ticket.channel.in_(sorted(channels)),
            Ticket.waiting_since.is_not(None),
        )
        .order_by(Ticket.id)
    )
    found: dict[int, list[int]] = {}
    for user_id, ticket_id in rows:
        found.setdefault(int(user_id or 0), []).append(int(ticket_id))
    return found


def agents_with_unanswered(session: Session, *, channels: Iterable[str], statuses: Iterable[str]) -> set[int]:
    rows = session.scalars(
        sa.select(Ticket.assignee_id)
        .where(
            Ticket.assignee_id.is_not(None),
            Ticket.status.in_(sorted(statuses)),
            Ticket.channel.in_(sorted(channels)),
            Ticket.waiting_since.is_not(None),
        )
        .distinct()
    )
    return {int(user_id) for user_id in rows if user_id is not None}


def unassigned(session: Session, team_id: int, *, statuses: Iterable[str], limit: int) -> list[int]:
    """Ids of the team's unassigned tickets in these statuses (not merged), oldest first."""
    return list(
        session.scalars(
            sa.select(Ticket.id)
            .where(
                Ticket.team_id == team_id,
                Ticket.assignee_id.is_(None),
                Ticket.status.in_(sorted(statuses)),
                Ticket.merged_into_id.is_(None),
            )
            .order_by(Ticket.created_at, Ticket.id)
            .limit(limit)
        )
    )
