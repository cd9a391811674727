"""Bulk changes: one transaction, a savepoint per ticket, refusals reported and never published."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.db import Database
from okno.errors import Forbidden, Invalid
from okno.tickets import bulk
from okno.tickets.events import PENDING_EVENTS_KEY
from okno.tickets.models import Ticket, TicketEvent
from okno.tickets.schemas import TicketUpdate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, update


def test_each_ticket_changes_or_is_refused_alone(db: Database, people: Personas) -> None:
    agent = people.agent
    ok = make_ticket(db, agent.actor, team_id=people.team_a)
    closed = make_ticket(db, agent.actor, team_id=people.team_a)
    update(db, agent.actor, closed, status="solved")
    update(db, agent.actor, closed, status="closed")
    other_team = make_ticket(db, people.admin.actor, team_id=people.team_b)
    with db.write() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(TicketEvent))
        outcome = bulk.update_many(
            session, agent.actor, [other_team, closed, ok, ok], changes=TicketUpdate(assignee_id=agent.user_id)
        )
        assert outcome.changed == [ok, closed]  # once each, in id order
        assert [(r.ticket_id, r.field) for r in outcome.refused] == [(other_team, "assignee_id")]  # not on team B
        pending = session.info.get(PENDING_EVENTS_KEY, [])
        assert {e.ticket_id for e in pending} <= set(outcome.changed)
        after = session.scalar(sa.select(sa.func.count()).select_from(TicketEvent))
        assert after == before + len(pending)
    with db.write() as session:
        outcome = bulk.update_many(
            session, agent.actor, [other_team, closed, ok], changes=TicketUpdate.model_validate({"status": "open"})
        )
        refused = {r.ticket_id: (r.code, r.details) for r in outcome.refused}
        assert refused[closed] == ("invalid_transition", {"from": "closed", "to": "open"})
        assert outcome.changed == [ok, other_team]
        assert session.get(Ticket, closed).status == "closed"  # type: ignore[union-attr]
        assert not [e for e in session.info.get(PENDING_EVENTS_KEY, []) if e.ticket_id == closed]


def test_a_limited_agent_cannot_reach_other_teams_tickets(db: Database, people: Personas) -> None:
    hidden = make_ticket(db, people.admin.actor, team_id=people.team_a)
    mine = make_ticket(db, people.admin.actor, team_id=people.team_b)
    with db.write() as session:
        outcome = bulk.update_many(
            session, people.other_agent.actor, [hidden, mine], changes=TicketUpdate(add_tags=["x"])
        )
    assert outcome.changed == [mine] and [(r.ticket_id, r.code) for r in outcome.refused] == [(hidden, "not_found")]


def test_bulk_needs_tickets_a_change_and_an_agent(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    with db.write() as session:
        with pytest.raises(Invalid):
            bulk.update_many(session, people.agent.actor, [], changes=TicketUpdate(add_tags=["x"]))
        with pytest.raises(Invalid):
            bulk.update_many(session, people.agent.actor, range(1, 200), changes=TicketUpdate(add_tags=["x"]))
        with pytest.raises(Invalid):
            bulk.update_many(session, people.agent.actor, [ticket_id], changes=TicketUpdate())
        with pytest.raises(Forbidden):
            bulk.update_many(session, people.light_agent.actor, [ticket_id], changes=TicketUpdate(add_tags=["x"]))


def test_api_filters_by_priority_and_plan_and_sorts_by_waiting(
    client: TestClient, db: Database, people: Personas
) -> None:
    urgent = make_ticket(db, people.agent.actor, priority="urgent")
    make_ticket(db, people.agent.actor, priority="low")
    headers = people.agent.headers
    found = client.get("/api/v1/tickets?priority=urgent&priority=high&customer_plan=free", headers=headers).json()
    assert [t["id"] for t in found["items"]] == [urgent] and found["items"][0]["waiting_since"] is not None
    assert client.get("/api/v1/tickets?customer_plan=gold", headers=headers).status_code == 422
    waiting = client.get("/api/v1/tickets?sort=waiting_since&limit=1", headers=headers).json()
    assert len(waiting["items"]) == 1 and waiting["next_cursor"]
    rest = client.get(f"/api/v1/tickets?sort=waiting_since&limit=1&cursor={waiting['next_cursor']}", headers=headers)
    assert rest.status_code == 200 and rest.json()["items"][0]["id"] != waiting["items"][0]["id"]
