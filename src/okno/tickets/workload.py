"""Who works on what: the facts about tickets that assignment by routing needs, and the assignment itself.

Routing (``okno.routing``) decides; this module reads the tickets it decides about, counts
agents' open conversations, and records its assignments through ``state.assign``, so each
is an ``assigned`` event like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.db import utcnow
from okno.tickets import access, automation_facts
from okno.tickets.automation_facts import EventFact
from okno.tickets.models import WAITING_FOR_AGENT, Tag, Ticket, TicketTag
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


def work_items(
    session: Session, ticket_ids: Collection[int], *, lock: Literal["no", "wait", "skip"] = "no"
) -> dict[int, WorkItem]:
    """The tickets by id; locked for update (waiting for, or skipping, tickets others hold) when asked.

    Skipped and missing tickets are absent. A locked ticket stays in the session, so assigning
    it next costs no further read.
    """
    if not ticket_ids:
        return {}
    rows = _items(session, _BY_IDS[lock], {"ticket_ids": sorted(ticket_ids)}, held=lock != "no")
    return {item.ticket_id: item for item in rows}


def waiting(
    session: Session,
    team_ids: Collection[int],
    *,
    channels: Collection[str],
    limit: int,
    skip_ids: Collection[int] = (),
) -> list[WorkItem]:
    """The teams' tickets waiting for an agent on these channels, in the order they are served, locked.

    Urgent first, then the customer waiting longest (tickets nobody waits on last), then the
    oldest. Tickets someone else holds are skipped: their change brings its own reaction.
    """
    if not team_ids or not channels:
        return []
    parameters = {"team_ids": sorted(team_ids), "channels": sorted(channels), "limit": limit}
    if skip_ids:
        return _items(session, _WAITING_PAST, {**parameters, "skip_ids": sorted(skip_ids)}, held=True)
    return _items(session, _WAITING, parameters, held=True)


def waiting_counts(session: Session, team_ids: Collection[int]) -> dict[int, tuple[int, datetime | None]]:
    """Per team: how many tickets wait for an agent, and since when the customer waiting longest does."""
    if not team_ids:
        return {}
    rows = session.execute(
        sa.select(Ticket.team_id, sa.func.count(), sa.func.min(Ticket.waiting_since))
        .where(Ticket.team_id.in_(sorted(team_ids)), sa.text(WAITING_FOR_AGENT))
        .group_by(Ticket.team_id)
    )
    return {int(team_id or 0): (int(count), oldest) for team_id, count, oldest in rows}


def teams_with_waiting(
    session: Session, *, of_agents: Collection[int] | None = None, channel: str | None = None
) -> set[int]:
    """The teams (of these agents' teams, or of all) that have tickets waiting for an agent
    (on ``channel``, when given)."""
    if of_agents is not None and not of_agents:
        return set()
    parameters = {"channel": channel, "user_ids": sorted(of_agents or ())}
    query = _teams_with_waiting(of_agents is not None, channel is not None)
    return {int(team_id) for team_id in session.scalars(query, parameters) if team_id is not None}


def waiting_teams_and_loads(
    session: Session, team_ids: Collection[int], *, user_ids: Collection[int], statuses: Iterable[str]
) -> tuple[set[int], dict[int, dict[str, int]]]:
    """Which of these teams have tickets waiting for an agent, and these agents' ``loads``: one query.

    A drain asks both as soon as it holds its agents' locks; when nothing waits any more (another
    drain gave it out meanwhile), it is done.
    """
    if not team_ids:
        return set(), {}
    parameters = {"team_ids": sorted(team_ids), "user_ids": sorted(user_ids), "statuses": sorted(statuses)}
    rows = session.execute(_WAITING_TEAMS_AND_LOADS, parameters).all()
    return {int(key) for key, channel, _ in rows if channel is None}, _loads_of(r for r in rows if r[1] is not None)


_TICKETS = cast(sa.Table, Ticket.__table__)
# Most tickets have no tags: their tags are read only when they do.
_HAS_TAGS = sa.exists().where(TicketTag.ticket_id == Ticket.id).label("has_tags")

# The statements every routing decision runs, built once (building and keying one costs more than running it).
_BY_IDS_QUERY = (
    sa.select(Ticket, _HAS_TAGS).where(Ticket.id.in_(sa.bindparam("ticket_ids", expanding=True))).order_by(Ticket.id)
)
_BY_IDS = {
    "no": _BY_IDS_QUERY,
    "wait": _BY_IDS_QUERY.with_for_update(of=Ticket),
    "skip": _BY_IDS_QUERY.with_for_update(of=Ticket, skip_locked=True),
}
_WAITING = (
    sa.select(Ticket, _HAS_TAGS)
    .where(
        Ticket.team_id.in_(sa.bindparam("team_ids", expanding=True)),
        sa.text(WAITING_FOR_AGENT),
        Ticket.channel.in_(sa.bindparam("channels", expanding=True)),
    )
    .order_by(Ticket.priority_rank.desc(), Ticket.waiting_since.asc().nulls_last(), Ticket.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(of=Ticket, skip_locked=True)
)
_WAITING_PAST = _WAITING.where(Ticket.id.not_in(sa.bindparam("skip_ids", expanding=True)))
_LOADS = (
    sa.select(_TICKETS.c.assignee_id, _TICKETS.c.channel, sa.func.count())
    .where(
        _TICKETS.c.assignee_id.in_(sa.bindparam("user_ids", expanding=True)),
        _TICKETS.c.status.in_(sa.bindparam("statuses", expanding=True)),
    )
    .group_by(_TICKETS.c.assignee_id, _TICKETS.c.channel)
)

# A team that has waiting tickets is a row without a channel; a load is (agent, channel, count).
_WAITING_TEAMS_AND_LOADS = sa.union_all(
    sa.select(_TICKETS.c.team_id, sa.cast(sa.null(), sa.String), sa.cast(sa.null(), sa.Integer))
    .where(_TICKETS.c.team_id.in_(sa.bindparam("team_ids", expanding=True)), sa.text(WAITING_FOR_AGENT))
    .distinct(),
    _LOADS,
)


@functools.cache
def _teams_with_waiting(of_agents: bool, on_channel: bool) -> sa.Select[int]:
    query = sa.select(_TICKETS.c.team_id).where(_TICKETS.c.team_id.is_not(None), sa.text(WAITING_FOR_AGENT))
    if of_agents:
        query = query.where(_TICKETS.c.team_id.in_(accounts_queries.TEAMS_OF_USERS.scalar_subquery()))
    if on_channel:
        query = query.where(_TICKETS.c.channel == sa.bindparam("channel"))
    return query.distinct()


def _items(
    session: Session, query: sa.Select[Ticket, bool], parameters: dict[str, Any], *, held: bool
) -> list[WorkItem]:
    rows = session.execute(query, parameters, execution_options={"populate_existing": True}).all()
    if held:
        access.hold_locked(session, [t for t, _ in rows])
    tags = _tags_of(session, [t.id for t, has_tags in rows if has_tags])
    return [_work_item(t, tags.get(t.id, set())) for t, _has_tags in rows]


def _tags_of(session: Session, ticket_ids: list[int]) -> dict[int, set[str]]:
    tags: dict[int, set[str]] = {}
    if ticket_ids:
        names = session.execute(
            sa.select(TicketTag.ticket_id, Tag.name)
            .join(Tag, Tag.id == TicketTag.tag_id)
            .where(TicketTag.ticket_id.in_(ticket_ids))
        )
        for ticket_id, name in names:
            tags.setdefault(ticket_id, set()).add(name)
    return tags


def _work_item(t: Ticket, tags: set[str]) -> WorkItem:
    return WorkItem(
        ticket_id=t.id,
        status=str(t.status),
        team_id=t.team_id,
        assignee_id=t.assignee_id,
        channel=str(t.channel),
        language=t.language,
        tags=frozenset(tags),
        priority_rank=t.priority_rank,
        waiting_since=t.waiting_since,
        created_at=t.created_at,
        merged=t.merged_into_id is not None,
    )


def loads(session: Session, user_ids: Collection[int], *, statuses: Iterable[str]) -> dict[int, dict[str, int]]:
    """Per agent and channel, how many tickets assigned to them are in one of ``statuses``."""
    if not user_ids:
        return {}
    return _loads_of(session.execute(_LOADS, {"user_ids": sorted(user_ids), "statuses": sorted(statuses)}))


def _loads_of(rows: Iterable[Any]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for user_id, channel, count in rows:
        found.setdefault(int(user_id or 0), {})[str(channel)] = int(count)
    return found


def change_facts(
    session: Session, ticket_id: int, event_ids: Collection[int]
) -> tuple[list[EventFact], WorkItem | None]:
    """A change's events and its ticket as it is now (as this unit of work holds it, when it does)."""
    events = automation_facts.events(session, list(event_ids)) if event_ids else []
    held = access.already_loaded(session, ticket_id)
    if held is not None:
        return events, _work_item(held, {tag.name for tag in held.tags})
    return events, work_items(session, [ticket_id]).get(ticket_id)


def assign_routed(
    session: Session, ticket_id: int, assignee_id: int | None, *, reason: str, routing: dict[str, Any] | None
) -> None:
    """Assigns (or, with None, hands back) a ticket the caller has locked, as routing decided."""
    ticket = access.locked(session, ticket_id) or session.get(Ticket, ticket_id)
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
