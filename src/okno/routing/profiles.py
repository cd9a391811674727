"""Routing settings: each team's policy, each agent's capacities, and the loads the pages show.

Changing what routing may do gives it work at once: a team that starts routing adopts its
unassigned tickets, a larger capacity fills the agent's new room (both as jobs).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin, require_directory, require_staff
from okno.db import utcnow
from okno.errors import NotFound
from okno.jobs.registry import enqueue
from okno.routing import policies
from okno.routing.models import RoutingAgent, RoutingTeam
from okno.routing.policies import CHANNELS, Policy, SkillMatch
from okno.routing.schemas import AgentLoad, AgentRoutingUpdate, TeamLoadRead, TeamRoutingRead, TeamRoutingUpdate
from okno.routing.service import DRAIN_JOB
from okno.tickets import workload


def _team_name(session: Session, team_id: int) -> str:
    name = accounts_queries.team_names(session).get(team_id)
    if name is None:
        raise NotFound("Team not found.")
    return name


def list_teams(session: Session, actor: Actor) -> list[TeamRoutingRead]:
    require_directory(actor)
    names = accounts_queries.team_names(session)
    rows = {row.team_id: row for row in session.scalars(sa.select(RoutingTeam))}
    waiting = workload.waiting_counts(session, list(names))
    return [_team_read(team_id, name, rows.get(team_id), waiting.get(team_id)) for team_id, name in names.items()]


def _team_read(
    team_id: int, name: str, row: RoutingTeam | None, waiting: tuple[int, datetime | None] | None
) -> TeamRoutingRead:
    count, oldest = waiting or (0, None)
    return TeamRoutingRead(
        team_id=team_id,
        name=name,
        policy=Policy(row.policy) if row else Policy.manual,
        skill_match=SkillMatch(row.skill_match) if row else SkillMatch.prefer,
        waiting=count,
        oldest_waiting_since=oldest,
    )


def get_team(session: Session, actor: Actor, team_id: int, *, presence_timeout_seconds: int) -> TeamLoadRead:
    """The team's routing settings, queue, and every agent's load against capacity."""
    require_directory(actor)
    name = _team_name(session, team_id)
    base = _team_read(
        team_id, name, session.get(RoutingTeam, team_id), workload.waiting_counts(session, [team_id]).get(team_id)
    )
    agents = list(session.scalars(accounts_queries.MEMBERS_OF_TEAMS, {"team_ids": [team_id]}))
    return TeamLoadRead(
        **base.model_dump(), agents=_loads(session, sorted(agents), presence_timeout_seconds=presence_timeout_seconds)
    )


def _loads(session: Session, user_ids: list[int], *, presence_timeout_seconds: int) -> list[AgentLoad]:
    if not user_ids:
        return []
    now = utcnow(session)
    facts = accounts_queries.agents_by_id(session, user_ids, now=now, presence_timeout_seconds=presence_timeout_seconds)
    names = accounts_queries.user_names(session, set(user_ids))
    rows = {
        row.user_id: row for row in session.scalars(sa.select(RoutingAgent).where(RoutingAgent.user_id.in_(user_ids)))
    }
    loads = workload.loads(session, user_ids, statuses=policies.LOAD_STATUSES)
    found = []
    for user_id in user_ids:
        own = dict(rows[user_id].capacities or {}) if user_id in rows else {}
        agent = facts.get(user_id)
        found.append(
            AgentLoad(
                user_id=user_id,
                name=names.get(user_id, ""),
                presence=agent.presence.status.value if agent else "offline",
                languages=sorted(agent.languages) if agent else [],
                skills=sorted(agent.skills) if agent else [],
                loads=loads.get(user_id, {}),
                capacities={ch: policies.effective_capacity(own, ch) for ch in CHANNELS},
                own_capacities=own,
                last_assigned_at=rows[user_id].last_assigned_at if user_id in rows else None,
            )
        )
    return sorted(found, key=lambda a: (a.name.casefold(), a.user_id))


def update_team(session: Session, actor: Actor, team_id: int, *, changes: TeamRoutingUpdate) -> TeamRoutingRead:
    require_admin(actor)
    name = _team_name(session, team_id)
    row = session.get(RoutingTeam, team_id, with_for_update=True)
    if row is None:
        row = RoutingTeam(team_id=team_id, policy=Policy.manual.value, skill_match=SkillMatch.prefer.value)
        session.add(row)
    if changes.policy is not None:
        row.policy = changes.policy.value
    if changes.skill_match is not None:
        row.skill_match = changes.skill_match.value
    row.updated_at = utcnow(session)
    session.flush()
    if Policy(row.policy) != Policy.manual:
        # A team that starts routing (or routes differently) gets its waiting tickets routed at once.
        enqueue(session, DRAIN_JOB, {"team_ids": [team_id]})
    return _team_read(team_id, name, row, workload.waiting_counts(session, [team_id]).get(team_id))


def get_agent(session: Session, actor: Actor, user_id: int, *, presence_timeout_seconds: int) -> AgentLoad:
    """An agent's capacities and load: their own, or anyone's for admins and supervisors."""
    require_staff(actor)
    if actor.user_id != user_id:
        require_directory(actor)
    if not accounts_queries.is_assignable(session, user_id):
        raise NotFound("No such agent.")
    return _loads(session, [user_id], presence_timeout_seconds=presence_timeout_seconds)[0]


def update_agent(
    session: Session, actor: Actor, user_id: int, *, changes: AgentRoutingUpdate, presence_timeout_seconds: int
) -> AgentLoad:
    require_admin(actor)
    if not accounts_queries.is_assignable(session, user_id):
        raise NotFound("No such agent.")
    now = utcnow(session)
    # The agent's routing row is the lock routing takes: a change waits for a decision in progress.
    row = session.get(RoutingAgent, user_id, with_for_update=True)
    if row is None:
        row = RoutingAgent(user_id=user_id, capacities={}, updated_at=now)
        session.add(row)
    own = dict(row.capacities or {})
    for channel, value in changes.capacities.items():
        if value is None:
            own.pop(channel, None)
        else:
            own[channel] = value
    row.capacities = own
    row.updated_at = now
    session.flush()
    enqueue(session, DRAIN_JOB, {"user_id": user_id})
    return _loads(session, [user_id], presence_timeout_seconds=presence_timeout_seconds)[0]
