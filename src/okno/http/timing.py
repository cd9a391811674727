"""``Server-Timing: app;dur=<ms>`` on every HTTP response: how long Okno took before it answered.

Browsers show it in their developer tools beside the network timings, so a slow page can be told
from a slow network or proxy without access to the server, and monitoring in front of Okno can read
it. It carries one duration and nothing else (no query names, no hosts). The count starts when the
request reaches the application and stops when the response starts: pages are rendered in full
before that, so for them it is the whole server-side time; a streamed download counts until its
first bytes.
"""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTimingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={elapsed_ms:.1f}")
            await send(message)

        await self.app(scope, receive, send_timed)
