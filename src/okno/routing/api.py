"""JSON routes for routing: each team's policy and queue, each agent's capacities and load."""

from __future__ import annotations

from fastapi import APIRouter

from okno.http.deps import CurrentActor, DbSession, RuntimeDep
from okno.routing import profiles
from okno.routing.schemas import AgentLoad, AgentRoutingUpdate, TeamLoadRead, TeamRoutingRead, TeamRoutingUpdate
from okno.schemas import Id

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


@router.get(
    "/teams",
    response_model=list[TeamRoutingRead],
    summary="Every team's routing policy and queue",
    description="Admins and supervisors. A team that was never set up is routed by hand (`manual`).",
)
def list_teams(session: DbSession, actor: CurrentActor) -> list[TeamRoutingRead]:
    return profiles.list_teams(session, actor)


@router.get(
    "/teams/{team_id}",
    response_model=TeamLoadRead,
    summary="A team's routing, with every agent's load against capacity",
)
def get_team(team_id: Id, session: DbSession, actor: CurrentActor, runtime: RuntimeDep) -> TeamLoadRead:
    timeout = runtime.settings.presence_timeout_seconds
    return profiles.get_team(session, actor, team_id, presence_timeout_seconds=timeout)


@router.patch(
    "/teams/{team_id}",
    response_model=TeamRoutingRead,
    summary="Change a team's routing policy",
    description="Admins. A team that starts routing automatically takes its unassigned open tickets into its "
    "queue and routes them at once; a team set to `manual` empties its queue.",
)
def update_team(team_id: Id, body: TeamRoutingUpdate, session: DbSession, actor: CurrentActor) -> TeamRoutingRead:
    return profiles.update_team(session, actor, team_id, changes=body)


@router.get(
    "/agents/{user_id}",
    response_model=AgentLoad,
    summary="An agent's capacities and load",
    description="Agents may read their own; admins and supervisors anyone's. Whether an agent receives "
    "conversations is their presence (`PUT /api/v1/presence/me`).",
)
def get_agent(user_id: Id, session: DbSession, actor: CurrentActor, runtime: RuntimeDep) -> AgentLoad:
    timeout = runtime.settings.presence_timeout_seconds
    return profiles.get_agent(session, actor, user_id, presence_timeout_seconds=timeout)


@router.patch(
    "/agents/{user_id}",
    response_model=AgentLoad,
    summary="Change an agent's capacities",
    description="Admins. Only the channels given change; `null` goes back to the default. Room that opens "
    "up is filled from the queue at once.",
)
def update_agent(
    user_id: Id, body: AgentRoutingUpdate, session: DbSession, actor: CurrentActor, runtime: RuntimeDep
) -> AgentLoad:
    timeout = runtime.settings.presence_timeout_seconds
    return profiles.update_agent(session, actor, user_id, changes=body, presence_timeout_seconds=timeout)
