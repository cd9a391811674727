"""Who sees what: every route that takes a ticket id answers 404 to those who may not see it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.accounts.models import Role
from okno.accounts.permissions import Actor, TicketFacts, may_see_ticket, visible_tickets
from okno.customers.models import Organization
from okno.db import Database
from okno.tickets.models import Ticket
from tests.factories.personas import Person, Personas, make_customer_person
from tests.factories.tickets import make_ticket

TICKET_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/tickets/{id}", None),
    ("GET", "/api/v1/tickets/{id}/messages", None),
    ("GET", "/api/v1/tickets/{id}/events", None),
    ("PATCH", "/api/v1/tickets/{id}", {"status": "solved"}),
    ("POST", "/api/v1/tickets/{id}/messages", {"body": "let me in"}),
    ("POST", "/api/v1/tickets/{id}/merge", {"target_ticket_id": 2**63 - 1}),  # into one that does not exist
]


def assert_hidden(client: TestClient, person: Person, ticket_id: int) -> None:
    for method, path, body in TICKET_ROUTES:
        response = client.request(method, path.format(id=ticket_id), json=body, headers=person.headers)
        assert response.status_code in {403, 404}, (method, path, response.status_code)
        if method == "GET":
            assert response.status_code == 404
    listed = client.get("/api/v1/tickets", headers=person.headers).json()["items"]
    assert ticket_id not in {t["id"] for t in listed}
    searched = client.get("/api/v1/tickets", params={"q": "secret"}, headers=person.headers).json()["items"]
    assert ticket_id not in {t["id"] for t in searched}


def test_customer_cannot_reach_another_customers_ticket(client: TestClient, db: Database, people: Personas) -> None:
    theirs = make_ticket(db, people.other_customer.actor, subject="secret order")
    upload = client.post(
        "/api/v1/attachments",
        files={"file": ("a.txt", b"secret", "text/plain")},
        headers=people.other_customer.headers,
    ).json()
    client.post(
        f"/api/v1/tickets/{theirs}/messages",
        json={"body": "see file", "attachment_ids": [upload["id"]]},
        headers=people.other_customer.headers,
    )
    assert_hidden(client, people.customer, theirs)
    assert client.get(f"/api/v1/attachments/{upload['id']}", headers=people.customer.headers).status_code == 404
    assert (
        client.get(
            f"/api/v1/customers/{people.other_customer.customer_id}", headers=people.customer.headers
        ).status_code
        == 404
    )
    mine = make_ticket(db, people.customer.actor)
    assert client.get(f"/api/v1/tickets/{mine}", headers=people.customer.headers).status_code == 200


def test_team_limited_agent_sees_only_its_teams(client: TestClient, db: Database, people: Personas) -> None:
    support = make_ticket(db, people.agent.actor, team_id=people.team_a, subject="secret")
    billing = make_ticket(db, people.agent.actor, team_id=people.team_b)
    assert_hidden(client, people.other_agent, support)
    assert client.get(f"/api/v1/tickets/{billing}", headers=people.other_agent.headers).status_code == 200
    # Unlimited agents see everything.
    assert client.get(f"/api/v1/tickets/{billing}", headers=people.agent.headers).status_code == 200


def test_customers_never_see_notes_or_internal_events(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "VIP, careful", "kind": "note"},
        headers=people.agent.headers,
    )
    client.patch(f"/api/v1/tickets/{ticket_id}", json={"tags": ["angry"]}, headers=people.agent.headers)
    messages = client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=people.customer.headers).json()
    assert [m["kind"] for m in messages] == ["inbound"]
    events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=people.customer.headers).json()
    assert [e["kind"] for e in events] == ["created"]
    note = client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "x", "kind": "note"},
        headers=people.customer.headers,
    )
    assert note.status_code == 403


def test_fields_a_role_may_not_set_are_refused(client: TestClient, db: Database, people: Personas) -> None:
    refused = client.post(
        "/api/v1/tickets",
        json={"subject": "Hi", "message": {"body": "x"}, "assignee_id": people.agent.user_id},
        headers=people.customer.headers,
    )
    assert refused.status_code == 403 and refused.json()["error"]["details"][0]["field"] == "assignee_id"
    refused = client.post(
        "/api/v1/tickets",
        json={"subject": "Hi", "message": {"body": "x"}, "customer_id": people.other_customer.customer_id},
        headers=people.customer.headers,
    )
    assert refused.status_code == 403 and refused.json()["error"]["details"][0]["field"] == "customer_id"
    mine = client.post(
        "/api/v1/tickets", json={"subject": "Hi", "message": {"body": "x"}}, headers=people.customer.headers
    )
    assert mine.status_code == 201 and mine.json()["customer"]["id"] == people.customer.customer_id
    priority = client.patch(
        f"/api/v1/tickets/{mine.json()['id']}", json={"priority": "urgent"}, headers=people.customer.headers
    )
    assert priority.status_code == 403
    solved = client.patch(
        f"/api/v1/tickets/{mine.json()['id']}", json={"status": "solved"}, headers=people.customer.headers
    )
    assert solved.status_code == 200 and solved.json()["status"] == "solved"
    own_role = client.patch(
        f"/api/v1/users/{people.agent.user_id}", json={"role": "admin"}, headers=people.agent.headers
    )
    assert own_role.status_code == 403 and own_role.json()["error"]["details"][0]["field"] == "role"
    own_name = client.patch(
        f"/api/v1/users/{people.agent.user_id}", json={"name": "Agent Smith"}, headers=people.agent.headers
    )
    assert own_name.status_code == 200


def test_light_agent_reads_and_writes_notes_only(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    url = f"/api/v1/tickets/{ticket_id}/messages"
    assert client.get(url, headers=people.light_agent.headers).status_code == 200
    assert client.post(url, json={"body": "hi"}, headers=people.light_agent.headers).status_code == 403
    assert client.post(url, json={"body": "fyi", "kind": "note"}, headers=people.light_agent.headers).status_code == 201
    patch = client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "low"}, headers=people.light_agent.headers)
    assert patch.status_code == 403


def test_organization_sharing(client: TestClient, db: Database, people: Personas) -> None:
    with db.write() as session:
        org = Organization(
            name="Acme",
            domains=[],
            plan="priority",
            shared_tickets=True,
            attributes={},
            created_at=db.clock.now(),
            updated_at=db.clock.now(),
        )
        session.add(org)
        session.flush()
        org_id = org.id
    alice = make_customer_person(db, email="alice@acme.example.com", organization_id=org_id)
    bob = make_customer_person(db, email="bob@acme.example.com", organization_id=org_id)
    ticket_id = make_ticket(db, alice.actor)
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=bob.headers).status_code == 200
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=people.customer.headers).status_code == 404
    body = client.get(f"/api/v1/tickets/{ticket_id}", headers=alice.headers).json()
    assert body["customer_plan"] == "priority"


@pytest.mark.parametrize("limited", [False, True])
def test_query_filter_and_in_memory_rule_agree(db: Database, people: Personas, limited: bool) -> None:
    """The realtime bus uses may_see_ticket; lists use visible_tickets: they must never disagree."""
    customers = [people.customer.customer_id, people.other_customer.customer_id]
    tickets = [
        make_ticket(db, people.admin.actor, customer_id=customer, team_id=team, assignee_id=assignee)
        for customer, team, assignee in itertools.product(
            customers, [None, people.team_a, people.team_b], [None, people.agent.user_id]
        )
        if assignee is None or team != people.team_b
    ]
    actors = [
        people.admin.actor,
        people.light_agent.actor,
        people.customer.actor,
        people.other_customer.actor,
        Actor(
            role=Role.agent,
            user_id=people.agent.user_id,
            team_ids=frozenset({people.team_b}),
            limited_to_teams=limited,
        ),
    ]
    with db.read() as session:
        rows = session.scalars(sa.select(Ticket).where(Ticket.id.in_(tickets))).all()
        for actor in actors:
            visible = set(session.scalars(sa.select(Ticket.id).where(Ticket.id.in_(tickets), visible_tickets(actor))))
            for row in rows:
                facts = TicketFacts(row.team_id, row.assignee_id, row.customer_id, None, frozenset())
                assert may_see_ticket(actor, facts) == (row.id in visible), (actor.role, row.id)
