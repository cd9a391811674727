"""Merging two customer records of one person: service and API, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from okno.accounts import service as accounts_service
from okno.customers import merge, service
from okno.customers.schemas import CustomerCreate, IdentityIn
from okno.db import Database
from okno.errors import Conflict, Forbidden, Invalid
from tests.factories.personas import Personas, make_customer
from tests.factories.tickets import make_ticket


def _add_note(db: Database, people: Personas, customer_id: int, body: str) -> int:
    with db.write() as session:
        return service.add_note(session, people.agent.actor, customer_id, body=body).id


def test_merge_moves_everything_and_keeps_the_source_as_a_pointer(db: Database, people: Personas) -> None:
    with db.write() as session:
        source = service.create_customer(
            session,
            people.agent.actor,
            data=CustomerCreate(
                name="Anna K. (Kazan)",
                email="anna.k@mail.example.com",
                identities=[IdentityIn(kind="phone", value="+7 999 000-11-22")],
                attributes={"city": "Kazan", "vip": True},
            ),
        ).id
        target = service.create_customer(
            session,
            people.agent.actor,
            data=CustomerCreate(name="Anna Karpova", email="anna@work.example.com", attributes={"city": "Moscow"}),
        ).id
    first = make_ticket(db, people.agent.actor, customer_id=source, subject="By phone")
    second = make_ticket(db, people.agent.actor, customer_id=source, team_id=people.team_b, subject="Billing")
    copied = make_ticket(
        db, people.agent.actor, customer_id=people.customer.customer_id, cc=["anna.k@mail.example.com"]
    )
    both = make_ticket(db, people.agent.actor, customer_id=target, cc=["anna.k@mail.example.com"])
    note = _add_note(db, people, source, "Calls in the evening")
    with db.write() as session:
        outcome = merge.merge_customers(session, people.agent.actor, source_id=source, target_id=target)
        assert (outcome.moved_ticket_count, outcome.moved_identity_count, outcome.moved_note_count) == (2, 2, 1)
        read = service.to_read(outcome.target)
    assert read.name == "Anna Karpova" and read.attributes == {"city": "Moscow", "vip": True}
    assert {i.value for i in read.identities} == {"anna@work.example.com", "anna.k@mail.example.com", "+79990001122"}
    with db.read() as session:
        old = service.get_customer(session, people.agent.actor, source)
        assert old.merged_into_id == target and old.merged_by_id == people.agent.user_id and old.identities == []
        assert [n.id for n in service.list_notes(session, people.agent.actor, target)] == [note]
        # Mail from the old address now reaches the record that stayed.
        found = service.find_by_identity(session, "email", "ANNA.K@mail.example.com")  # type: ignore[arg-type]
        assert found is not None and found.id == target
        assert [
            c.id for c in service.list_customers(session, people.admin.actor, q="anna.k@", after_id=None, limit=10)
        ] == [target]
    api_admin = people.admin.actor
    from okno.tickets import access, queries

    with db.read() as session:
        for ticket_id in (first, second):
            ticket = access.get_ticket(session, api_admin, ticket_id)
            assert ticket.customer_id == target
            events = queries.list_events(session, api_admin, ticket, after_id=None, limit=50)
            changed = [e for e in events if e.kind == "customer_changed"]
            assert [(e.data, e.actor_id) for e in changed] == [
                ({"old": source, "new": target, "reason": "customers_merged"}, people.agent.user_id)
            ]
        assert [p.customer_id for p in access.get_ticket(session, api_admin, copied).participants] == [target]
        # The target was the customer of this one already: the copy of the old record goes away.
        assert access.get_ticket(session, api_admin, both).participants == []


def test_merge_refusals(db: Database, people: Personas) -> None:
    one = make_customer(db, email="one@example.com")
    two = make_customer(db, email="two@example.com")
    three = make_customer(db, email="three@example.com")
    with db.write() as session, pytest.raises(Invalid):
        merge.merge_customers(session, people.agent.actor, source_id=one, target_id=one)
    for who in (people.light_agent, people.customer):
        with db.write() as session, pytest.raises(Forbidden):
            merge.merge_customers(session, who.actor, source_id=one, target_id=two)
    with db.write() as session:
        merge.merge_customers(session, people.agent.actor, source_id=one, target_id=two)
    with db.write() as session, pytest.raises(Conflict) as again:
        merge.merge_customers(session, people.agent.actor, source_id=one, target_id=three)
    assert again.value.code == "customer_merged"
    with db.write() as session, pytest.raises(Conflict):
        merge.merge_customers(session, people.agent.actor, source_id=three, target_id=one)
    with db.write() as session, pytest.raises(Conflict):
        service.add_note(session, people.agent.actor, one, body="too late")
    # A record merged into the source follows it to the new target.
    with db.write() as session:
        merge.merge_customers(session, people.agent.actor, source_id=two, target_id=three)
    with db.read() as session:
        assert service.get_customer(session, people.agent.actor, one).merged_into_id == three


def test_sign_in_accounts_follow_the_merge(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor, subject="From the portal")
    other = make_customer(db, email="anna.private@example.org")
    with db.write() as session:
        merge.merge_customers(session, people.agent.actor, source_id=people.customer.customer_id or 0, target_id=other)
    with db.read() as session:
        user = accounts_service.find_user_by_email(session, people.customer.email)
        assert user is not None and user.customer_id == other
        actor = accounts_service.actor_for(session, user)
        from okno.tickets import access

        assert access.get_ticket(session, actor, ticket_id).customer_id == other


def test_merge_api(client: TestClient, people: Personas) -> None:
    def create(email: str) -> int:
        response = client.post("/api/v1/customers", json={"email": email}, headers=people.agent.headers)
        assert response.status_code == 201
        return int(response.json()["id"])

    source, target = create("old@example.com"), create("new@example.com")
    ticket = client.post(
        "/api/v1/tickets",
        json={"subject": "Hello", "customer_id": source, "message": {"body": "hi"}},
        headers=people.agent.headers,
    ).json()
    light = client.post(
        f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers=people.light_agent.headers
    )
    assert light.status_code == 403
    refused = client.post(
        f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers=people.customer.headers
    )
    assert refused.status_code == 403
    missing = client.post("/api/v1/customers/987654/merge", json={"into_id": target}, headers=people.agent.headers)
    assert missing.status_code == 404
    nowhere = client.post(f"/api/v1/customers/{source}/merge", json={"into_id": 987654}, headers=people.agent.headers)
    assert nowhere.status_code == 422 and nowhere.json()["error"]["details"][0]["field"] == "into_id"
    key = {"Idempotency-Key": "merge-old-into-new"}
    merged = client.post(
        f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers={**people.agent.headers, **key}
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merged_id"] == source and body["moved_ticket_count"] == 1 and body["customer"]["id"] == target
    assert {i["value"] for i in body["customer"]["identities"]} == {"old@example.com", "new@example.com"}
    replay = client.post(
        f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers={**people.agent.headers, **key}
    )
    assert replay.status_code == 200 and replay.json() == body
    again = client.post(f"/api/v1/customers/{source}/merge", json={"into_id": target}, headers=people.agent.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "customer_merged"
    later = client.post(
        "/api/v1/tickets",
        json={"subject": "Again", "customer_id": source, "message": {"body": "hi"}},
        headers=people.agent.headers,
    )
    assert later.status_code == 201 and later.json()["customer"]["id"] == target
    old = client.get(f"/api/v1/customers/{source}", headers=people.agent.headers).json()
    assert old["merged_into_id"] == target and old["identities"] == []
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=people.agent.headers).json()
    assert events[-1]["kind"] == "customer_changed" and events[-1]["data"]["new"] == target
    spec = client.get("/api/openapi.json").json()
    assert "CustomerMergeRequest" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/customers/{customer_id}/merge"]["post"]["summary"].startswith("Merge")


def test_notes_are_edited_with_revisions(client: TestClient, people: Personas) -> None:
    customer = client.post("/api/v1/customers", json={"email": "n@example.com"}, headers=people.agent.headers).json()
    note = client.post(
        f"/api/v1/customers/{customer['id']}/notes", json={"body": "Prefers email"}, headers=people.agent.headers
    ).json()
    assert note["edited_at"] is None
    edited = client.patch(
        f"/api/v1/customers/{customer['id']}/notes/{note['id']}",
        json={"body": "Prefers phone calls after 18:00"},
        headers=people.colleague.headers,
    )
    assert edited.status_code == 200
    assert (
        edited.json()["edited_by_id"] == people.colleague.user_id and edited.json()["author_id"] == people.agent.user_id
    )
    light = client.patch(
        f"/api/v1/customers/{customer['id']}/notes/{note['id']}", json={"body": "x"}, headers=people.light_agent.headers
    )
    assert light.status_code == 403
    revisions = client.get(
        f"/api/v1/customers/{customer['id']}/notes/{note['id']}/revisions", headers=people.light_agent.headers
    ).json()
    assert [(r["body"], r["written_by_id"], r["replaced_by_id"]) for r in revisions] == [
        ("Prefers email", people.agent.user_id, people.colleague.user_id)
    ]
    wrong_customer = client.patch(
        f"/api/v1/customers/{people.customer.customer_id}/notes/{note['id']}",
        json={"body": "x"},
        headers=people.agent.headers,
    )
    assert wrong_customer.status_code == 404
