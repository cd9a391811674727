"""Chat widgets and their visitors for tests, made through the real services and the widget's HTTP side."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.accounts.permissions import Actor
from okno.channels.widget import service
from okno.channels.widget.schemas import TopicIn, WidgetCreate
from okno.clock import FrozenClock
from okno.crypto import Sealer
from okno.db import Database, make_engine
from tests import databases
from tests.factories.personas import Personas

SHOP = "https://shop.example"
ChatFrame = dict[str, Any]
SEALER = Sealer("test-secret", purpose=service.SECRET_PURPOSE)


def make_widget(db: Database, people: Personas, **changes: Any) -> service.WidgetSettings:
    data = {
        "name": "Shop",
        "allowed_origins": [SHOP],
        "team_id": people.team_a,
        "topics": [
            TopicIn(label="Buy", team_id=people.team_a),
            TopicIn(label="Problem with an order", team_id=people.team_b),
        ],
    } | changes
    with db.write() as session:
        return service.create_widget(session, people.admin.actor, data=WidgetCreate.model_validate(data), sealer=SEALER)


def go_online(db: Database, actor: Actor) -> None:
    with db.write() as session:
        presence.set_status(session, actor, PresenceStatus.online)


def new_visitor(client: TestClient, widget: service.WidgetSettings, **body: Any) -> str:
    response = client.post(f"/widget/{widget.key}/visitors", json=body, headers={"origin": SHOP})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def socket_url(widget: service.WidgetSettings, token: str, after: int | None = None) -> str:
    return f"/widget/{widget.key}/ws?token={token}" + (f"&after={after}" if after is not None else "")


def fresh_database(template: databases.Template, tmp_path: Path, clock: FrozenClock) -> Iterator[Database]:
    """A database of its own for a test whose sockets read in worker threads while the test writes,
    which the single shared connection of the usual rollback-per-test cannot take."""
    engine = make_engine(template.fresh_url(tmp_path))
    yield Database(engine, clock=clock)
    engine.dispose()


def receive(socket: WebSocketTestSession, timeout: float = 5) -> ChatFrame:
    """The next frame, or a failure after ``timeout`` seconds (never a hung test)."""

    async def get() -> Any:
        with anyio.fail_after(timeout):
            return await socket._send_rx.receive()

    message = socket.portal.call(get)
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000))
    frame: ChatFrame = json.loads(message["text"])
    return frame


def receive_until(
    socket: WebSocketTestSession, wanted: Callable[[ChatFrame], bool], timeout: float = 5
) -> list[ChatFrame]:
    """ChatFrames up to and including the first that ``wanted`` accepts."""
    frames = []
    while True:
        frame = receive(socket, timeout)
        frames.append(frame)
        if wanted(frame):
            return frames


def connect(client: TestClient, widget: service.WidgetSettings, token: str, **params: Any) -> Any:
    return client.websocket_connect(socket_url(widget, token, **params), headers={"origin": SHOP})


def start(socket: WebSocketTestSession, body: str, **fields: Any) -> ChatFrame:
    socket.send_json({"type": "start", "body": body, "ref": "r1", **fields})
    [*_, started] = receive_until(socket, lambda f: f["type"] in {"started", "error"})
    return started
