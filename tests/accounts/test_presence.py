from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.accounts import presence
from okno.accounts.models import PresenceChange, PresenceStatus
from okno.clock import FrozenClock
from okno.db import Database
from tests.factories.personas import Personas

TIMEOUT = 90


def status(db: Database, user_id: int) -> PresenceStatus:
    with db.read() as session:
        return presence.status_of(session, user_id, timeout_seconds=TIMEOUT)


def history(db: Database, user_id: int) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            sa.select(PresenceChange.status, PresenceChange.reason)
            .where(PresenceChange.user_id == user_id)
            .order_by(PresenceChange.id)
        )
        return [(str(s), r) for s, r in rows]


def test_presence_lives_on_heartbeats(db: Database, people: Personas, clock: FrozenClock) -> None:
    agent = people.agent
    assert status(db, agent.user_id) == PresenceStatus.offline  # never seen
    with db.write() as session:
        presence.heartbeat(session, agent.actor, idle=False)
    assert status(db, agent.user_id) == PresenceStatus.online
    clock.advance(timedelta(seconds=TIMEOUT + 1))
    assert status(db, agent.user_id) == PresenceStatus.offline  # the laptop was closed
    with db.write() as session:
        assert presence.expire_silent(session, timeout_seconds=TIMEOUT) == 1
    with db.write() as session:
        assert presence.heartbeat(session, agent.actor, idle=False) == PresenceStatus.online  # back
    with db.write() as session:
        assert presence.heartbeat(session, agent.actor, idle=True) == PresenceStatus.away
    with db.write() as session:
        assert presence.heartbeat(session, agent.actor, idle=False) == PresenceStatus.online
    assert history(db, agent.user_id) == [
        ("online", "chosen"),
        ("offline", "heartbeat_lost"),
        ("online", "heartbeat"),
        ("away", "inactivity"),
        ("online", "activity"),
    ]


def test_a_chosen_status_is_kept(db: Database, people: Personas) -> None:
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.away)
    with db.write() as session:
        assert presence.heartbeat(session, people.agent.actor, idle=False) == PresenceStatus.away
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.offline)
    with db.write() as session:
        assert presence.heartbeat(session, people.agent.actor, idle=False) == PresenceStatus.offline


def test_presence_api(client: TestClient, people: Personas) -> None:
    assert client.put("/api/v1/presence/me", json={"status": "online"}, headers=people.agent.headers).status_code == 204
    assert client.put("/api/v1/presence/me", json={"status": "busy"}, headers=people.agent.headers).status_code == 422
    listed = {
        p["user_id"]: p["status"] for p in client.get("/api/v1/presence", headers=people.colleague.headers).json()
    }
    assert listed[people.agent.user_id] == "online" and listed[people.colleague.user_id] == "offline"
    assert client.get("/api/v1/presence", headers=people.customer.headers).status_code == 403
    assert (
        client.put("/api/v1/presence/me", json={"status": "online"}, headers=people.customer.headers).status_code == 403
    )
