"""Agent presence: online, away or offline, as chosen and as kept alive by heartbeats.

Pages send a heartbeat every half minute (and say whether the agent has been idle). An
agent whose pages fall silent is offline after ``presence_timeout_seconds``; a periodic job
writes that down so routing and analytics read a stored state. Every change is kept, and
sent to colleagues' open pages as a signal once it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.models import (
    ASSIGNABLE_ROLES,
    STAFF_ROLES,
    AgentPresence,
    PresenceChange,
    PresenceStatus,
    TeamMembership,
    User,
)
from okno.accounts.permissions import Actor, require_staff
from okno.db import utcnow
from okno.errors import Forbidden
from okno.realtime import make_signal, signal_after_commit


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    status: PresenceStatus
    since: datetime | None


@dataclass(frozen=True)
class Availability:
    """An agent's effective presence and since when it holds (None: never seen)."""

    status: PresenceStatus
    since: datetime | None


# Called inside the unit of work that changes someone's presence (routing reacts to it).
PresenceListener = Callable[[Session, int, PresenceStatus], None]
_listeners: dict[str, PresenceListener] = {}


def on_change(name: str, listener: PresenceListener) -> None:
    """Registers ``listener(session, user_id, new_status)``; it may only write rows and enqueue jobs."""
    _listeners[name] = listener


def _row(session: Session, user_id: int) -> AgentPresence | None:
    return session.get(AgentPresence, user_id, with_for_update=True)


def _change(session: Session, row: AgentPresence, status: PresenceStatus, reason: str, now: datetime) -> None:
    if row.chosen == status:
        return
    row.chosen = status
    row.changed_at = now
    row.auto_away = reason == "inactivity"
    session.add(PresenceChange(user_id=row.user_id, status=status, reason=reason, occurred_at=now))
    signal_after_commit(
        session,
        make_signal(
            "presence_changed",
            actor_id=row.user_id,
            occurred_at=now.isoformat(),
            data={"user_id": row.user_id, "status": status.value},
        ),
    )
    for listener in _listeners.values():
        listener(session, row.user_id, status)


def set_status(session: Session, actor: Actor, status: PresenceStatus) -> None:
    """The agent's own choice; going online counts as a heartbeat."""
    if not actor.is_staff or actor.user_id is None:
        raise Forbidden("Only staff have a presence.")
    now = utcnow(session)
    row = _row(session, actor.user_id)
    if row is None:
        row = AgentPresence(
            user_id=actor.user_id, chosen=PresenceStatus.offline, auto_away=False, last_heartbeat_at=now, changed_at=now
        )
        session.add(row)
    row.last_heartbeat_at = now
    _change(session, row, status, "chosen", now)
    session.flush()


def heartbeat(session: Session, actor: Actor, *, idle: bool) -> PresenceStatus:
    """A page of the agent's is open; ``idle`` says nobody has touched it for a while."""
    if not actor.is_staff or actor.user_id is None:
        raise Forbidden("Only staff have a presence.")
    now = utcnow(session)
    row = _row(session, actor.user_id)
    if row is None:
        set_status(session, actor, PresenceStatus.online)
        return PresenceStatus.online
    row.last_heartbeat_at = now
    if idle and row.chosen == PresenceStatus.online:
        _change(session, row, PresenceStatus.away, "inactivity", now)
    elif not idle and row.chosen == PresenceStatus.away and row.auto_away:
        _change(session, row, PresenceStatus.online, "activity", now)
    elif row.chosen == PresenceStatus.offline and _lost_heartbeat(session, row.user_id):
        # The agent was marked offline only because their pages fell silent; they are back.
        _change(session, row, PresenceStatus.online, "heartbeat", now)
    session.flush()
    return PresenceStatus(row.chosen)


def _lost_heartbeat(session: Session, user_id: int) -> bool:
    last = session.scalar(
        sa.select(PresenceChange.reason)
        .where(PresenceChange.user_id == user_id)
        .order_by(PresenceChange.occurred_at.desc(), PresenceChange.id.desc())
        .limit(1)
    )
    return last == "heartbeat_lost"


def expire_silent(session: Session, *, timeout_seconds: int) -> int:
    """Marks offline every agent whose pages sent nothing for ``timeout_seconds``."""
    now = utcnow(session)
    silent = session.scalars(
        sa.select(AgentPresence)
        .where(
            AgentPresence.chosen != PresenceStatus.offline,
            AgentPresence.last_heartbeat_at < now - timedelta(seconds=timeout_seconds),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for row in silent:
        _change(session, row, PresenceStatus.offline, "heartbeat_lost", now)
    session.flush()
    return len(silent)


def effective(row: AgentPresence | None, now: datetime, timeout_seconds: int) -> PresenceStatus:
    if row is None or row.last_heartbeat_at < now - timedelta(seconds=timeout_seconds):
        return PresenceStatus.offline
    return PresenceStatus(row.chosen)


def team_presence(session: Session, actor: Actor, *, timeout_seconds: int) -> list[Presence]:
    """Every active staff member with their effective presence, online first."""
    require_staff(actor)
    now = utcnow(session)
    rows = session.execute(
        sa.select(User.id, User.name, AgentPresence)
        .outerjoin(AgentPresence, AgentPresence.user_id == User.id)
        .where(User.is_active.is_(True), User.role.in_(sorted(STAFF_ROLES)))
        .order_by(User.name)
    ).all()
    order = {PresenceStatus.online: 0, PresenceStatus.away: 1, PresenceStatus.offline: 2}
    people = [
        Presence(user_id, name, effective(row, now, timeout_seconds), row.changed_at if row else None)
        for user_id, name, row in rows
    ]
    return sorted(people, key=lambda p: (order[p.status], p.name))


def status_of(session: Session, user_id: int, *, timeout_seconds: int) -> PresenceStatus:
    return effective(session.get(AgentPresence, user_id), utcnow(session), timeout_seconds)


@dataclass(frozen=True)
class OnlineTeams:
    """Who could answer at an instant: anyone at all, and the teams with someone online."""

    anyone: bool
    team_ids: frozenset[int]


def online_teams(session: Session, *, at: datetime, timeout_seconds: int) -> OnlineTeams:
    """Agents who may take conversations and are online at ``at`` (chosen online, heartbeat within
    the timeout), by team; light agents do not count, they cannot own a conversation.

    One query, for pages that ask about several teams at once (the chat widget's topics).
    """
    rows = session.execute(
        sa.select(User.id, TeamMembership.team_id)
        .join(AgentPresence, AgentPresence.user_id == User.id)
        .outerjoin(TeamMembership, TeamMembership.user_id == User.id)
        .where(
            User.is_active.is_(True),
            User.role.in_(sorted(ASSIGNABLE_ROLES)),
            AgentPresence.chosen == PresenceStatus.online,
            AgentPresence.last_heartbeat_at >= at - timedelta(seconds=timeout_seconds),
        )
    ).all()
    return OnlineTeams(anyone=bool(rows), team_ids=frozenset(team_id for _user, team_id in rows if team_id is not None))


def availability(
    chosen: str | None,
    last_heartbeat_at: datetime | None,
    changed_at: datetime | None,
    now: datetime,
    timeout_seconds: int,
) -> Availability:
    """The effective presence with the instant it began: a silent agent is offline from when the timeout ran out.

    Takes an ``agent_presence`` row's fields (None for an agent never seen, who is offline).
    """
    if chosen is None or last_heartbeat_at is None or changed_at is None:
        return Availability(PresenceStatus.offline, None)
    silent_from = last_heartbeat_at + timedelta(seconds=timeout_seconds)
    if silent_from < now:
        since = silent_from if chosen == PresenceStatus.online else min(changed_at, silent_from)
        return Availability(PresenceStatus.offline, since)
    return Availability(PresenceStatus(chosen), changed_at)


def snapshot(session: Session, user_ids: Collection[int], *, timeout_seconds: int) -> dict[int, Availability]:
    """Every listed agent's availability, in one query, fresh from the database (agents never seen are offline)."""
    if not user_ids:
        return {}
    now = utcnow(session)
    rows = {
        user_id: (chosen, heartbeat, changed)
        for user_id, chosen, heartbeat, changed in session.execute(
            sa.select(
                AgentPresence.user_id, AgentPresence.chosen, AgentPresence.last_heartbeat_at, AgentPresence.changed_at
            ).where(AgentPresence.user_id.in_(sorted(user_ids)))
        )
    }
    found = {}
    for user_id in user_ids:
        chosen, heartbeat, changed = rows.get(user_id, (None, None, None))
        found[user_id] = availability(chosen, heartbeat, changed, now, timeout_seconds)
    return found
