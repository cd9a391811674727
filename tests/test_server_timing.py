"""Every HTTP response says how long the application took (Server-Timing), measured to the response start."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from okno.http.timing import ServerTimingMiddleware

TIMING = re.compile(r"^app;dur=(\d+\.\d)$")


def test_pages_api_and_errors_carry_the_application_time(client: TestClient) -> None:
    for path in ("/healthz", "/sign-in", "/api/v1/tickets", "/no-such-page"):
        response = client.get(path, headers={"accept": "text/html"} if path != "/api/v1/tickets" else {})
        assert TIMING.match(response.headers["server-timing"]), path
    # Nothing else is given away: one duration, no names of queries or hosts.
    assert len(client.get("/healthz").headers.get_list("server-timing")) == 1


def test_the_duration_is_the_time_until_the_response_starts() -> None:
    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        time.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        time.sleep(0.2)  # the body streaming afterwards is not the application's thinking time
        await send({"type": "http.response.body", "body": b"done"})

    response = TestClient(ServerTimingMiddleware(slow_app)).get("/")
    match = TIMING.match(response.headers["server-timing"])
    assert match and 50 <= float(match.group(1)) < 200
    assert response.text == "done"


def test_websockets_pass_through_untouched() -> None:
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "hello"})
        await send({"type": "websocket.close", "code": 1000})

    with TestClient(ServerTimingMiddleware(echo)).websocket_connect("/") as socket:
        assert socket.receive_text() == "hello"
