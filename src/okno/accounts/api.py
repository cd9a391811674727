"""JSON routes for users, teams, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from okno.accounts import presence, service
from okno.accounts.models import Role, User
from okno.accounts.schemas import (
    PresenceRead,
    PresenceSet,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TokenCreate,
    TokenIssued,
    UserCreate,
    UserRead,
    UserUpdate,
)
from okno.errors import Unauthorized
from okno.http.deps import CurrentActor, DbSession, RuntimeDep
from okno.http.idempotency import Idempotency, IdempotencyDep, IdempotencyKeyHeader, checked_key
from okno.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _user_read(user: User) -> UserRead:
    return UserRead.model_validate(user)


@router.post(
    "/auth/tokens",
    status_code=201,
    response_model=TokenIssued,
    summary="Sign in and get an API token",
    description="Failed attempts are counted per address and per client and refused (429) past the limit.",
    responses={
        401: {"description": "The email or the password is wrong, or the user is deactivated"},
        429: {"description": "Too many failed attempts; details.retry_after_s says when to try again"},
    },
)
async def create_token(
    body: TokenCreate, request: Request, runtime: RuntimeDep, idempotency_key: IdempotencyKeyHeader = None
) -> Response:
    raw_body = await request.body()
    key = checked_key(idempotency_key)
    client = request.client.host if request.client else "unknown"
    settings = runtime.settings

    def sign_in() -> Response:
        try:
            with runtime.db.write() as session:
                idempotency = Idempotency(request, session, f"login:{str(body.email).lower()}", key, raw_body)

                def produce() -> TokenIssued:
                    user = service.login(
                        session,
                        email=str(body.email),
                        password=body.password,
                        client=client,
                        max_failures=settings.login_max_failures,
                        window_s=settings.login_window_seconds,
                    )
                    row, token = service.issue_token(session, user, name=body.name)
                    return TokenIssued(token=token, token_id=row.id, user_id=user.id)

                return idempotency.respond(201, produce)
        except Unauthorized:
            # Its own transaction: the failed attempt must count although the request fails.
            with runtime.db.write() as session:
                service.record_login_failure(session, email=str(body.email), client=client)
            raise

    # Password hashing is deliberately slow: keep it off the event loop.
    return await run_in_threadpool(sign_in)


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_token(token_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.revoke_token(session, actor, token_id)
    return Response(status_code=204)


@router.get("/users/me", response_model=UserRead, summary="Who am I")
def me(session: DbSession, actor: CurrentActor) -> UserRead:
    assert actor.user_id is not None
    return _user_read(service.get_user(session, actor, actor.user_id))


@router.get("/users", response_model=list[UserRead])
def list_users(
    session: DbSession,
    actor: CurrentActor,
    role: Role | None = None,
    active: Annotated[bool | None, Query()] = None,
) -> list[UserRead]:
    return [_user_read(u) for u in service.list_users(session, actor, role=role, active=active)]


@router.post("/users", status_code=201, response_model=UserRead)
def create_user(body: UserCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    return idempotency.respond(201, lambda: _user_read(service.create_user(session, actor, data=body)))


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: Id, session: DbSession, actor: CurrentActor) -> UserRead:
    return _user_read(service.get_user(session, actor, user_id))


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: Id, body: UserUpdate, session: DbSession, actor: CurrentActor) -> UserRead:
    return _user_read(service.update_user(session, actor, user_id, changes=body))


@router.delete(
    "/users/{user_id}",
    status_code=204,
    summary="Deactivate a user",
    description="History is kept; open tickets go back to their teams.",
)
def deactivate_user(user_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.deactivate_user(session, actor, user_id)
    return Response(status_code=204)


@router.get("/teams", response_model=list[TeamRead], tags=["teams"])
def list_teams(session: DbSession, actor: CurrentActor) -> list[TeamRead]:
    return [TeamRead.model_validate(t) for t in service.list_teams(session, actor)]


@router.post("/teams", status_code=201, response_model=TeamRead, tags=["teams"])
def create_team(body: TeamCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    return idempotency.respond(201, lambda: TeamRead.model_validate(service.create_team(session, actor, data=body)))


@router.get("/teams/{team_id}", response_model=TeamRead, tags=["teams"])
def get_team(team_id: Id, session: DbSession, actor: CurrentActor) -> TeamRead:
    return TeamRead.model_validate(service.get_team(session, actor, team_id))


@router.patch("/teams/{team_id}", response_model=TeamRead, tags=["teams"])
def update_team(team_id: Id, body: TeamUpdate, session: DbSession, actor: CurrentActor) -> TeamRead:
    return TeamRead.model_validate(service.update_team(session, actor, team_id, changes=body))


@router.delete("/teams/{team_id}", status_code=204, tags=["teams"])
def delete_team(team_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_team(session, actor, team_id)
    return Response(status_code=204)


@router.get("/presence", response_model=list[PresenceRead], tags=["presence"], summary="Who is online")
def list_presence(session: DbSession, actor: CurrentActor, runtime: RuntimeDep) -> list[PresenceRead]:
    people = presence.team_presence(session, actor, timeout_seconds=runtime.settings.presence_timeout_seconds)
    return [PresenceRead.model_validate(p, from_attributes=True) for p in people]


@router.put("/presence/me", status_code=204, tags=["presence"], summary="Set your own presence")
def set_presence(body: PresenceSet, session: DbSession, actor: CurrentActor) -> Response:
    presence.set_status(session, actor, body.status)
    return Response(status_code=204)
