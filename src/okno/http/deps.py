"""Request plumbing: one unit of work per request, the caller's identity, the runtime.

Reads (GET) get a read-only transaction; everything else a write transaction committed
when the handler returns, before the response is sent, so a 201 means "committed".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.errors import Unauthorized
from okno.runtime import Runtime

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_bearer = HTTPBearer(
    auto_error=False, description="An API token from `okno token create` or POST /api/v1/auth/tokens"
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _unit_of_work(request: Request) -> Iterator[Session]:
    db = get_runtime(request).db
    scope = db.write() if request.method in _WRITE_METHODS else db.read()
    with scope as session:
        yield session


def _actor(
    session: Annotated[Session, Depends(_unit_of_work, scope="function")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Send an API token: `Authorization: Bearer <token>`.")
    return accounts_service.actor_for_token(session, credentials.credentials)


DbSession = Annotated[Session, Depends(_unit_of_work, scope="function")]
CurrentActor = Annotated[Actor, Depends(_actor)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
