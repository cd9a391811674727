"""The waiting queue: routable conversations nobody eligible had room for, in the order they are served.

Entries are hints kept in step by the routing reaction (a ticket assigned, solved or moved
leaves the queue); whoever takes an entry locks the ticket and checks it again first.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.routing.models import RoutingWaiting


def put(
    session: Session,
    *,
    ticket_id: int,
    team_id: int,
    channel: str,
    priority_rank: int,
    waiting_since: datetime,
    why: str,
    now: datetime,
) -> None:
    """Adds the conversation, or brings its entry up to date (its place keeps its first queued time)."""
    entry = session.get(RoutingWaiting, ticket_id)
    if entry is None:
        session.add(
            RoutingWaiting(
                ticket_id=ticket_id,
                team_id=team_id,
                channel=channel,
                priority_rank=priority_rank,
                waiting_since=waiting_since,
                queued_at=now,
                why=why,
            )
        )
        return
    entry.team_id, entry.channel, entry.priority_rank, entry.why = team_id, channel, priority_rank, why


def remove(session: Session, ticket_ids: Collection[int]) -> None:
    if ticket_ids:
        session.execute(sa.delete(RoutingWaiting).where(RoutingWaiting.ticket_id.in_(sorted(ticket_ids))))


def clear_team(session: Session, team_id: int) -> None:
    session.execute(sa.delete(RoutingWaiting).where(RoutingWaiting.team_id == team_id))


def first(
    session: Session, team_ids: Collection[int], *, channels: Collection[str] | None = None, limit: int
) -> list[RoutingWaiting]:
    """The first entries of these teams' queue (urgent first, then the longest waiting), on these channels."""
    if not team_ids or (channels is not None and not channels):
        return []
    query = sa.select(RoutingWaiting).where(RoutingWaiting.team_id.in_(sorted(team_ids)))
    if channels is not None:
        query = query.where(RoutingWaiting.channel.in_(sorted(channels)))
    query = query.order_by(
        RoutingWaiting.priority_rank.desc(), RoutingWaiting.waiting_since, RoutingWaiting.ticket_id
    ).limit(limit)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def teams_waiting(session: Session) -> set[int]:
    return set(session.scalars(sa.select(RoutingWaiting.team_id).distinct()))


def counts(session: Session, team_ids: Collection[int]) -> dict[int, tuple[int, datetime | None]]:
    """Per team: how many conversations wait, and since when the longest-waiting one does."""
    if not team_ids:
        return {}
    rows = session.execute(
        sa.select(RoutingWaiting.team_id, sa.func.count(), sa.func.min(RoutingWaiting.waiting_since))
        .where(RoutingWaiting.team_id.in_(sorted(team_ids)))
        .group_by(RoutingWaiting.team_id)
    )
    return {team_id: (int(count), oldest) for team_id, count, oldest in rows}
