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


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _unit_of_work(request: Request) -> AsyncIterator[Session]:
    runtime = get_runtime(request)
    writes = request.method in _WRITE_METHODS
    # SQLite takes one writer at a time. Writers wait for their turn here, on the event loop,
    # not inside BEGIN IMMEDIATE in a worker thread: threads all blocked on the lock would
    # leave none for the request that holds it to finish and commit.
    # Likewise every unit of work waits for a free database connection here, not in a thread.
    gate = runtime.write_gate if writes and runtime.db.is_sqlite else contextlib.nullcontext()
    async with gate, runtime.connection_gate:
        scope = runtime.db.write() if writes else runtime.db.read()
        session = await run_in_threadpool(scope.__enter__)
        try:
            yield session
        except BaseException as error:
            await run_in_threadpool(scope.__exit__, type(error), error, error.__traceback__)
            raise
        await run_in_threadpool(scope.__exit__, None, None, None)


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
