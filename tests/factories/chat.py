"""Chat widgets and their visitors for tests, made through the real services and the widget's HTTP side."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.accounts.permissions import Actor
from okno.channels.widget import service
from okno.channels.widget.schemas import TopicIn, WidgetCreate
from okno.crypto import Sealer
from okno.db import Database
from tests.factories.personas import Personas

SHOP = "https://shop.example"
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
