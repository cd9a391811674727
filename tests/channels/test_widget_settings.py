"""Chat widget settings: what the chat reads, who may embed the widget, its public configuration."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.automation.business_hours import service as business_hours
from okno.automation.business_hours.calendar import BusinessCalendar
from okno.channels.widget import service
from okno.channels.widget.identity import sign_identity
from okno.channels.widget.schemas import TopicIn, WidgetCreate, WidgetUpdate
from okno.clock import FrozenClock
from okno.crypto import Sealer
from okno.db import Database
from okno.errors import Forbidden, Invalid, NotFound
from okno.runtime import Runtime
from tests.factories.personas import Personas

SEALER = Sealer("test-secret", purpose=service.SECRET_PURPOSE)
SHOP = "https://shop.example"


def make_widget(db: Database, people: Personas, **changes: object) -> service.WidgetSettings:
    data = {
        "name": "Shop",
        "allowed_origins": [SHOP, "http://127.0.0.1:8000"],
        "team_id": people.team_a,
        "topics": [
            TopicIn(label="Buy", team_id=people.team_a),
            TopicIn(label="Problem with an order", team_id=people.team_b),
        ],
    } | changes
    with db.write() as session:
        return service.create_widget(session, people.admin.actor, data=WidgetCreate.model_validate(data), sealer=SEALER)


def test_a_created_widget_is_read_by_its_key(db: Database, people: Personas) -> None:
    created = make_widget(db, people, allowed_origins=["https://Shop.example:443/"[:-1]], color="#AABBCC")
    with db.read() as session:
        found = service.settings_by_key(session, created.key)
    assert found == created
    assert found.allowed_origins == (SHOP,)
    assert found.color == "#aabbcc"
    assert (found.position, found.language, found.ask_email, found.idle_close_minutes) == ("right", "auto", True, 30)
    assert [(t.label, t.team_id) for t in found.topics] == [
        ("Buy", people.team_a),
        ("Problem with an order", people.team_b),
    ]
    assert service.origin_allowed(found, SHOP)
    assert not service.origin_allowed(found, "https://evil.example")
    assert not service.origin_allowed(found, None)


def test_unknown_and_disabled_widgets_are_not_found(db: Database, people: Personas) -> None:
    widget = make_widget(db, people, enabled=False)
    with db.read() as session:
        with pytest.raises(NotFound):
            service.settings_by_key(session, widget.key)
        with pytest.raises(NotFound):
            service.settings_by_key(session, "no-such-key")
        assert service.get_widget(session, people.admin.actor, widget.id).enabled is False


def test_only_admins_manage_widgets(db: Database, people: Personas) -> None:
    with db.write() as session, pytest.raises(Forbidden):
        service.create_widget(session, people.agent.actor, data=WidgetCreate(name="Shop"), sealer=SEALER)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"team_id": 999_999}, "team_id"),
        ({"topics": [{"label": "Buy", "team_id": 999_999}]}, "topics.0.team_id"),
        ({"topics": [{"id": 1, "label": "Buy", "team_id": None}]}, "topics.0.id"),  # None: an existing team
    ],
)
def test_teams_must_exist(db: Database, people: Personas, data: dict[str, object], field: str) -> None:
    data = copy.deepcopy(data)
    for topic in data.get("topics", []):  # type: ignore[attr-defined]
        topic["team_id"] = topic["team_id"] or people.team_a
    with db.write() as session, pytest.raises(Invalid) as caught:
        service.create_widget(session, people.admin.actor, data=WidgetCreate.model_validate({"name": "Shop", **data}))
    assert caught.value.details == [{"field": field, "reason": caught.value.message}]


def test_updating_keeps_topic_ids_reorders_and_removes(db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    buy, problem = widget.topics
    data = WidgetUpdate(
        name="Shop (new)",
        allowed_origins=[SHOP],
        position="left",
        language="ru",
        greeting="Здравствуйте!",
        topics=[
            TopicIn(id=problem.id, label="Problem with an order", team_id=people.team_b),
            TopicIn(label="Become a partner", team_id=people.team_a),
        ],
    )
    with db.write() as session:
        updated = service.update_widget(session, people.admin.actor, widget.id, data=data)
    assert updated.key == widget.key
    assert [t.label for t in updated.topics] == ["Problem with an order", "Become a partner"]
    assert updated.topics[0].id == problem.id and buy.id not in {t.id for t in updated.topics}
    assert (updated.position, updated.language, updated.team_id) == ("left", "ru", None)
    with db.write() as session, pytest.raises(Invalid) as caught:
        service.update_widget(
            session,
            people.admin.actor,
            widget.id,
            data=WidgetUpdate(name="Shop", topics=[TopicIn(id=buy.id, label="Buy", team_id=people.team_a)]),
        )
    assert caught.value.details[0]["field"] == "topics.0.id"


def test_the_identity_secret_is_sealed_and_rotates(db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    with db.read() as session:
        secret = service.identity_secret(session, widget.id, sealer=SEALER)
    assert secret.startswith(b"wsec_") and len(secret) > 40
    signature = sign_identity(secret, email="anna@shop.example")
    assert service.verify_identity(secret, email="anna@shop.example", name="Anna", signature=signature)
    with db.write() as session:
        rotated = service.rotate_secret(session, people.admin.actor, widget.id, sealer=SEALER)
    with db.read() as session:
        assert service.identity_secret(session, widget.id, sealer=SEALER) == rotated.encode()
    assert not service.verify_identity(rotated.encode(), email="anna@shop.example", name=None, signature=signature)


def test_the_runtime_knows_the_secret_key(runtime: Runtime, db: Database, people: Personas) -> None:
    with db.write() as session:
        widget = service.create_widget(session, people.admin.actor, data=WidgetCreate(name="Shop"))
    with db.read() as session:
        secret = service.identity_secret(session, widget.id)
    assert secret.startswith(b"wsec_")
    with db.read() as session:  # sealed under the installation's key, for this purpose
        assert service.identity_secret(session, widget.id, sealer=SEALER) == secret


def test_a_team_is_available_when_one_of_its_agents_is_online(
    db: Database, people: Personas, clock: FrozenClock
) -> None:
    def available(team_id: int | None) -> bool:
        with db.read() as session:
            return service.team_available(session, team_id, clock.now())

    assert not available(people.team_a) and not available(None)
    with db.write() as session:
        presence.set_status(session, people.light_agent.actor, PresenceStatus.online)
    assert not available(people.team_a)  # light agents do not take chats
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    assert available(people.team_a) and available(None) and not available(people.team_b)
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.away)
    assert not available(people.team_a)
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    clock.advance(timedelta(seconds=service.PRESENCE_TIMEOUT_SECONDS + 1))
    assert not available(people.team_a)  # the laptop was closed: no heartbeat


def test_a_team_off_shift_is_not_available(
    db: Database, people: Personas, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Team B works Moscow office hours on weekdays; the clock says Monday 2 March 2026, 09:00 UTC (12:00 there).
    office = BusinessCalendar.build("Europe/Moscow", {d: ["09:00-18:00"] for d in range(5)})
    calendars = {people.team_b: office}
    monkeypatch.setattr(business_hours, "calendar_for_team", lambda _session, team_id: calendars.get(team_id))
    with db.write() as session:
        presence.set_status(session, people.other_agent.actor, PresenceStatus.online)
    with db.read() as session:
        assert service.team_available(session, people.team_b, clock.now())
    clock.advance(timedelta(hours=6, minutes=30))
    with db.write() as session:  # 18:30 in Moscow: the agent's page is still open, but the team is off shift
        presence.heartbeat(session, people.other_agent.actor, idle=False)
    with db.read() as session:
        assert not service.team_available(session, people.team_b, clock.now())
        assert service.teams_available(session, [people.team_b, None], clock.now()) == {
            people.team_b: False,
            None: True,  # "anyone" has no calendar: always open
        }


# ---- GET /widget/{key}/config ----


def test_the_config_answers_an_allowed_origin(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    widget = make_widget(db, people, greeting="Hello!", ask_name=True)
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    response = client.get(f"/widget/{widget.key}/config", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["vary"] == "Origin"
    buy, problem = widget.topics
    assert response.json() == {
        "key": widget.key,
        "name": "Shop",
        "color": "#2563eb",
        "position": "right",
        "greeting": "Hello!",
        "language": "auto",
        "ask_name": True,
        "ask_email": True,
        "online": True,
        "topics": [
            {"id": buy.id, "label": "Buy", "online": True},
            {"id": problem.id, "label": "Problem with an order", "online": False},
        ],
    }
    assert "secret" not in response.text


def test_the_config_refuses_other_origins(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    response = client.get(f"/widget/{widget.key}/config", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"
    without = client.get(f"/widget/{widget.key}/config")  # not a browser's cross-site request
    assert without.status_code == 200 and "access-control-allow-origin" not in without.headers


def test_the_config_of_unknown_or_disabled_widgets_is_not_found(
    client: TestClient, db: Database, people: Personas
) -> None:
    widget = make_widget(db, people, enabled=False)
    for key in (widget.key, "no-such-key"):
        response = client.get(f"/widget/{key}/config", headers={"Origin": SHOP})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "widget_not_found"
        assert "access-control-allow-origin" not in response.headers


def test_the_demo_widget_is_seeded_once_and_learns_new_ports(runtime: Runtime, db: Database) -> None:
    from okno.demo.widgets import demo_origins, seed_widget

    with db.write() as session:
        first = seed_widget(session, origins=demo_origins(8000))
    with db.write() as session:
        again = seed_widget(session, origins=demo_origins(8000))
        moved = seed_widget(session, origins=demo_origins(9000))
    assert again == first and moved.id == first.id and moved.key == first.key
    assert moved.allowed_origins == (*demo_origins(8000), *demo_origins(9000))
