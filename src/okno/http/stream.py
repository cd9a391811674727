"""``/api/v1/stream``: the realtime bus over a WebSocket, for API clients.

Authenticated with the same bearer token as the REST API (sent in the handshake's
``Authorization`` header); each event passes the same permission filter as the REST
routes. Reconnect with ``?after_id=<last id seen>`` to receive what was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.errors import Unauthorized, error_body
from okno.realtime import Stream
from okno.runtime import Runtime
from okno.schemas import AfterId

router = APIRouter()
MAX_CLIENT_MESSAGE_CHARS = 1000


def _authenticate(runtime: Runtime, authorization: str | None) -> Actor:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an API token in the Authorization header.")
    with runtime.db.read() as session:
        return accounts_service.actor_for_token(session, token.strip())


@router.websocket("/api/v1/stream")
async def stream(websocket: WebSocket, after_id: AfterId | None = None) -> None:
    runtime: Runtime = websocket.app.state.runtime
    try:
        actor = await run_in_threadpool(_authenticate, runtime, websocket.headers.get("authorization"))
    except Unauthorized as exc:
        await websocket.send_denial_response(JSONResponse(error_body(exc.code, exc.message), status_code=401))
        return
    await websocket.accept()
    await forward(websocket, Stream(runtime.bus, runtime.db.read, actor, after_id=after_id))


async def forward(
    websocket: WebSocket, stream: Stream, on_message: Callable[[object], Awaitable[None]] | None = None
) -> None:
    """Sends the stream's events until the client goes away; a client too far behind is told to resume.

    What the client sends (JSON) goes to ``on_message``; without one it is read and dropped.
    """

    async def pump() -> None:
        async for envelope in stream:
            await websocket.send_json(envelope.public())

    async def watch_close() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await websocket.receive_text()
                if on_message is not None and len(text) <= MAX_CLIENT_MESSAGE_CHARS:
                    try:
                        message = json.loads(text)
                    except ValueError:
                        continue
                    await on_message(message)

    tasks = [asyncio.create_task(pump()), asyncio.create_task(watch_close())]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and isinstance(task.exception(), OverflowError):
            await websocket.close(code=4409, reason="too far behind; reconnect with after_id")
