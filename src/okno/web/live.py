"""``/live``: the realtime bus for the workspace pages, over a WebSocket.

Authenticated by the session cookie, so the handshake's Origin must be this site's own:
otherwise any page on the web could open it with the agent's cookie (cross-site WebSocket
hijacking). Each event passes the same permission filter as every list and page. The page
says over the same connection which ticket it shows and when its agent types
(``{"type": "viewing" | "typing" | "stopped_viewing", "ticket_id": N}``): the collision signals;
on a chat ticket also ``{"type": "read", "ticket_id": N, "message_id": M}``: the customer's
messages up to M are read (the visitor's widget shows the ticks).
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from okno.accounts import web_sessions
from okno.errors import OknoError, error_body
from okno.http.deps import unit_of_work
from okno.http.stream import forward
from okno.realtime import Stream
from okno.runtime import Runtime
from okno.schemas import AfterId
from okno.tickets import reading
from okno.tickets.viewers import TicketViewers
from okno.web.pages import SESSION_COOKIE

router = APIRouter()


def same_origin(websocket: WebSocket, runtime: Runtime) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    allowed = {websocket.headers.get("host", ""), urlsplit(runtime.settings.base_url).netloc}
    return urlsplit(origin).netloc in allowed


@router.websocket("/live")
async def live(websocket: WebSocket, after_id: AfterId | None = None) -> None:
    runtime: Runtime = websocket.app.state.runtime
    if not same_origin(websocket, runtime):
        await websocket.send_denial_response(JSONResponse(error_body("forbidden", "Cross-site connection."), 403))
        return

    def resolve() -> web_sessions.SignedIn | None:
        with runtime.db.read() as session:
            return web_sessions.resolve(session, websocket.cookies.get(SESSION_COOKIE))

    signed_in = await run_in_threadpool(resolve)
    if signed_in is None:
        await websocket.send_denial_response(JSONResponse(error_body("unauthorized", "Sign in first."), 401))
        return
    await websocket.accept()
    viewers = TicketViewers(runtime.bus, runtime.db.read, signed_in.actor, runtime.db.clock)

    async def on_message(message: object) -> None:
        read = await run_in_threadpool(viewers.read_request, message)
        if read is None:
            await run_in_threadpool(viewers.receive, message)
            return
        ticket_id, message_id = read
        with contextlib.suppress(OknoError):  # a ticket gone meanwhile: nothing to mark
            async with unit_of_work(runtime, writes=True) as session:
                await run_in_threadpool(
                    reading.mark_read, session, signed_in.actor, ticket_id, up_to_message_id=message_id
                )

    try:
        stream = Stream(runtime.bus, runtime.db.read, signed_in.actor, after_id=after_id)
        await forward(websocket, stream, on_message)
    finally:
        await run_in_threadpool(viewers.close)
