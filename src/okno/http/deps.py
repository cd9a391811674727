"""Request plumbing: one unit of work per request, the caller's identity, the runtime.

Reads (GET) get a read-only transaction; everything else a write transaction committed
when the handler returns, before the response is sent, so a 201 means "committed".
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.errors import Unauthorized
from okno.runtime import Runtime

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_bearer = HTTPBearer(auto_error=False, description="An API token from `okno token create` or POST /api/v1/auth/tokens")


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@contextlib.asynccontextmanager
async def unit_of_work(runtime: Runtime, *, writes: bool) -> AsyncIterator[Session]:
    """A transaction for async code: entered, used and committed in worker threads."""
    # SQLite takes one writer at a time. Writers wait for their turn here, on the event loop,
    # not inside BEGIN IMMEDIATE in a worker thread: threads all blocked on the lock would
    # leave none for the request that holds it to finish and commit.
    # Likewise every unit of work waits for a free database connection here, not in a thread.
    gate = runtime.write_gate if writes and runtime.db.is_sqlite else contextlib.nullcontext()
    async with gate, runtime.connection_gate:
        scope = runtime.db.write() if writes else runtime.db.read()
        # Entering does no I/O (the session connects on first use), so it needs no worker thread.
        session = scope.__enter__()
        try:
            yield session
        except BaseException as error:
            await run_in_threadpool(scope.__exit__, type(error), error, error.__traceback__)
            raise
        await run_in_threadpool(scope.__exit__, None, None, None)


async def _unit_of_work(request: Request) -> AsyncIterator[Session]:
    async with unit_of_work(get_runtime(request), writes=request.method in _WRITE_METHODS) as session:
        yield session


def actor_from(session: Session, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Send an API token: `Authorization: Bearer <token>`.")
    return accounts_service.actor_for_token(session, credentials.credentials)


def _actor(
    session: Annotated[Session, Depends(_unit_of_work, scope="function")],
    credentials: BearerCredentials,
) -> Actor:
    return actor_from(session, credentials)


DbSession = Annotated[Session, Depends(_unit_of_work, scope="function")]
CurrentActor = Annotated[Actor, Depends(_actor)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
