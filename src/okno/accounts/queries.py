"""Read-only facts about users and teams that other domains ask for."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import presence
from okno.accounts.models import ASSIGNABLE_ROLES, STAFF_ROLES, AgentPresence, Role, Team, TeamMembership, User
from okno.accounts.permissions import Actor
from okno.memo import Memo


def team_exists(session: Session, team_id: int) -> bool:
    return session.get(Team, team_id) is not None


def team_id_by_name(session: Session, name: str) -> int | None:
    return session.scalar(sa.select(Team.id).where(sa.func.lower(Team.name) == name.strip().lower()))


def is_member(session: Session, user_id: int, team_id: int) -> bool:
    return (
        session.scalar(
            sa.select(sa.literal(1)).where(TeamMembership.user_id == user_id, TeamMembership.team_id == team_id)
        )
        is not None
    )


def is_assignable(session: Session, user_id: int) -> bool:
    """Active staff who may own tickets (light agents and customers may not)."""
    user = session.get(User, user_id)
    return user is not None and user.is_active and user.role in ASSIGNABLE_ROLES


def user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {
        user_id: name for user_id, name in session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids)))
    }


def team_names(session: Session) -> dict[int, str]:
    return {team_id: name for team_id, name in session.execute(sa.select(Team.id, Team.name).order_by(Team.name))}


def assignable_users(session: Session) -> list[tuple[int, str, frozenset[int]]]:
    """Active agents who may own tickets, with their team ids, by name."""
    rows = session.execute(
        sa.select(User.id, User.name)
        .where(User.is_active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
        .order_by(User.name)
    ).all()
    memberships: dict[int, set[int]] = {}
    for user_id, team_id in session.execute(sa.select(TeamMembership.user_id, TeamMembership.team_id)):
        memberships.setdefault(user_id, set()).add(team_id)
    return [(user_id, name, frozenset(memberships.get(user_id, set()))) for user_id, name in rows]


def team_member_counts(session: Session) -> dict[int, int]:
    """Active members per team id (teams without any are absent)."""
    rows = session.execute(
        sa.select(TeamMembership.team_id, sa.func.count())
        .join(User, User.id == TeamMembership.user_id)
        .where(User.is_active.is_(True))
        .group_by(TeamMembership.team_id)
    )
    return {team_id: count for team_id, count in rows}


def team_member_ids(session: Session, team_id: int) -> set[int]:
    return set(session.scalars(sa.select(TeamMembership.user_id).where(TeamMembership.team_id == team_id)))


def supervisor_ids(session: Session, team_id: int | None) -> set[int]:
    """Who looks after a team's queue: its active supervisors; failing those (or without a team), the admins."""
    active = sa.select(User.id).where(User.is_active.is_(True))
    if team_id is not None:
        found = set(
            session.scalars(
                active.join(TeamMembership, TeamMembership.user_id == User.id).where(
                    TeamMembership.team_id == team_id, User.role == Role.supervisor
                )
            )
        )
        if found:
            return found
    return set(session.scalars(active.where(User.role == Role.admin)))


def staff_actors(session: Session, user_ids: set[int]) -> dict[int, Actor]:
    """Active staff among these users, as the actors they would be (teams included), by id."""
    if not user_ids:
        return {}
    users = session.execute(
        sa.select(User.id, User.name, User.role, User.limited_to_teams).where(
            User.id.in_(user_ids), User.is_active.is_(True), User.role.in_(sorted(STAFF_ROLES))
        )
    ).all()
    teams: dict[int, set[int]] = {}
    for user_id, team_id in session.execute(
        sa.select(TeamMembership.user_id, TeamMembership.team_id).where(TeamMembership.user_id.in_(user_ids))
    ):
        teams.setdefault(user_id, set()).add(team_id)
    return {
        user_id: Actor(
            role=Role(role),
            user_id=user_id,
            name=name,
            team_ids=frozenset(teams.get(user_id, set())),
            limited_to_teams=limited,
        )
        for user_id, name, role, limited in users
    }


def find_staff(session: Session, q: str, *, limit: int) -> list[tuple[int, str, str]]:
    """Active staff whose name (any word of it) or email starts with ``q``: (id, name, email), by name.

    Matched in Python: staff lists are short, and SQLite's lower() knows only ASCII (Cyrillic names).
    """
    needle = q.strip().casefold()
    rows = session.execute(
        sa.select(User.id, User.name, User.email)
        .where(User.is_active.is_(True), User.role.in_(sorted(STAFF_ROLES)))
        .order_by(User.name, User.id)
    ).all()
    found = [
        (user_id, name, email)
        for user_id, name, email in rows
        if any(word.startswith(needle) for word in [name.casefold(), *name.casefold().split(), email.casefold()])
    ]
    return found[:limit]


def sender_of(session: Session, user_id: int | None) -> tuple[str, str]:
    """The name and email signature a reply is sent under ("" for none)."""
    if user_id is None:
        return "", ""
    row = session.execute(sa.select(User.name, User.signature).where(User.id == user_id)).first()
    return (row[0], row[1] or "") if row else ("", "")


_USERS, _MEMBERSHIPS, _PRESENCE = (cast(sa.Table, m.__table__) for m in (User, TeamMembership, AgentPresence))
_MAY_OWN_TICKETS = (_USERS.c.is_active.is_(True), _USERS.c.role.in_(sorted(ASSIGNABLE_ROLES)))

# Statements the router runs on every change, built once (building and keying a statement costs more
# than running it); ``team_ids`` and ``user_ids`` are lists given when they run.
MEMBERS_OF_TEAMS: sa.Select[int] = (
    sa.select(_MEMBERSHIPS.c.user_id)
    .join(_USERS, _USERS.c.id == _MEMBERSHIPS.c.user_id)
    .where(_MEMBERSHIPS.c.team_id.in_(sa.bindparam("team_ids", expanding=True)), *_MAY_OWN_TICKETS)
)
"""The ids of the teams' active members who may own tickets; a query to run or to use inside another."""

TEAMS_OF_USERS: sa.Select[int] = sa.select(_MEMBERSHIPS.c.team_id).where(
    _MEMBERSHIPS.c.user_id.in_(sa.bindparam("user_ids", expanding=True))
)
"""The ids of the teams these users are on; a query to use inside another."""


def _facts_query(condition: sa.ColumnElement[bool], *, outer: bool) -> sa.Select[Any]:
    return (
        sa.select(
            _USERS.c.id,
            _USERS.c.languages,
            _USERS.c.skills,
            _MEMBERSHIPS.c.team_id,
            _PRESENCE.c.chosen,
            _PRESENCE.c.last_heartbeat_at,
            _PRESENCE.c.changed_at,
        )
        .select_from(_USERS)
        .join(_MEMBERSHIPS, _MEMBERSHIPS.c.user_id == _USERS.c.id, isouter=outer)
        .outerjoin(_PRESENCE, _PRESENCE.c.user_id == _USERS.c.id)
        .where(condition, *_MAY_OWN_TICKETS)
        .order_by(_USERS.c.id)
    )


_FACTS_OF_TEAMS = _facts_query(_MEMBERSHIPS.c.team_id.in_(sa.bindparam("team_ids", expanding=True)), outer=False)
_FACTS_OF_USERS = _facts_query(_USERS.c.id.in_(sa.bindparam("user_ids", expanding=True)), outer=True)


_THEIRS = _MEMBERSHIPS.alias("theirs")
_TEAMS_OF_MEMBERS_OF_TEAMS = (
    sa.select(_THEIRS.c.team_id).where(_THEIRS.c.user_id.in_(MEMBERS_OF_TEAMS.scalar_subquery())).distinct()
)


def _read_teams_sharing_agents(session: Session, team_ids: frozenset[int]) -> frozenset[int]:
    return team_ids | frozenset(session.scalars(_TEAMS_OF_MEMBERS_OF_TEAMS, {"team_ids": sorted(team_ids)}))


# Routing asks on every change; teams are staffed a few times a week (see ``okno.memo``).
TEAMS_SHARING_AGENTS: Memo[frozenset[int], frozenset[int]] = Memo(
    "accounts.teams_sharing_agents", _read_teams_sharing_agents, reads=(TeamMembership, User)
)


@dataclass(frozen=True)
class AgentFacts:
    """An active member of staff who may own tickets, as routing needs them."""

    user_id: int
    languages: frozenset[str]
    skills: frozenset[str]
    team_ids: frozenset[int]
    presence: presence.Availability


def team_agents(
    session: Session, team_ids: Collection[int], *, now: datetime, presence_timeout_seconds: int
) -> dict[int, AgentFacts]:
    """The active members of these teams who may own tickets, by id, with their presence as of now.

    One query, read fresh (routing reads it after taking its locks). Their teams among these only.
    """
    if not team_ids:
        return {}
    rows = session.execute(_FACTS_OF_TEAMS, {"team_ids": sorted(team_ids)})
    return _agent_facts(rows, now, presence_timeout_seconds)


def agents_by_id(
    session: Session, user_ids: Collection[int], *, now: datetime, presence_timeout_seconds: int
) -> dict[int, AgentFacts]:
    """These people, if they are active and may own tickets, with all their teams and their presence."""
    if not user_ids:
        return {}
    rows = session.execute(_FACTS_OF_USERS, {"user_ids": sorted(user_ids)})
    return _agent_facts(rows, now, presence_timeout_seconds)


def _agent_facts(rows: Iterable[Any], now: datetime, timeout: int) -> dict[int, AgentFacts]:
    found: dict[int, AgentFacts] = {}
    for user_id, languages, skills, team_id, chosen, heartbeat, changed in rows:
        known = found.get(user_id)
        teams = (known.team_ids if known else frozenset()) | ({team_id} if team_id is not None else set())
        found[user_id] = AgentFacts(
            user_id,
            frozenset(c.lower() for c in languages or []),
            frozenset(skills or []),
            frozenset(teams),
            known.presence if known else presence.availability(chosen, heartbeat, changed, now, timeout),
        )
    return found


def team_ids_of(session: Session, user_ids: Collection[int]) -> dict[int, set[int]]:
    if not user_ids:
        return {}
    found: dict[int, set[int]] = {}
    for user_id, team_id in session.execute(
        sa.select(TeamMembership.user_id, TeamMembership.team_id).where(TeamMembership.user_id.in_(sorted(user_ids)))
    ):
        found.setdefault(user_id, set()).add(team_id)
    return found
