from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from okno.accounts.permissions import Actor
from okno.customers import domains, service
from okno.db import Database
from okno.errors import Forbidden
from tests.factories.personas import Personas


def test_customer_card_identities_and_notes(client: TestClient, people: Personas) -> None:
    org = client.post(
        "/api/v1/organizations",
        json={"name": "Ромашка", "domains": ["romashka.example.com"], "plan": "priority"},
        headers=people.agent.headers,
    )
    assert org.status_code == 201
    created = client.post(
        "/api/v1/customers",
        json={
            "name": "Мария",
            "email": "Maria@Romashka.example.com",
            "identities": [{"kind": "phone", "value": "+7 (999) 123-45-67"}],
            "attributes": {"city": "Казань"},
        },
        headers=people.agent.headers,
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["organization_id"] == org.json()["id"]  # matched by email domain
    assert customer["effective_plan"] == "priority" and customer["plan"] is None
    assert {(i["kind"], i["value"]) for i in customer["identities"]} == {
        ("email", "maria@romashka.example.com"),
        ("phone", "+79991234567"),
    }
    taken = client.post(
        "/api/v1/customers",
        json={"identities": [{"kind": "phone", "value": "8-999-123-45-67 "}], "email": "m2@example.com"},
        headers=people.agent.headers,
    )
    assert taken.status_code in {201, 409}
    again = client.post("/api/v1/customers", json={"email": "maria@romashka.example.com"}, headers=people.agent.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "identity_taken"
    note = client.post(
        f"/api/v1/customers/{customer['id']}/notes",
        json={"body": "Prefers phone calls"},
        headers=people.agent.headers,
    )
    assert note.status_code == 201
    notes = client.get(f"/api/v1/customers/{customer['id']}/notes", headers=people.colleague.headers).json()
    assert [n["body"] for n in notes] == ["Prefers phone calls"]
    updated = client.patch(
        f"/api/v1/customers/{customer['id']}", json={"plan": "standard"}, headers=people.agent.headers
    )
    assert updated.json()["effective_plan"] == "standard"
    found = client.get("/api/v1/customers", params={"q": "romashka"}, headers=people.agent.headers).json()
    assert [c["id"] for c in found["items"]] == [customer["id"]]
    assert client.get("/api/v1/customers", headers=people.customer.headers).status_code == 403
    in_use = client.delete(f"/api/v1/organizations/{org.json()['id']}", headers=people.agent.headers)
    assert in_use.status_code == 409


def test_ticket_by_email_reuses_the_customer(client: TestClient, people: Personas) -> None:
    first = client.post(
        "/api/v1/tickets",
        json={"subject": "a", "customer": {"email": "same@example.com"}, "message": {"body": "1"}},
        headers=people.agent.headers,
    ).json()
    second = client.post(
        "/api/v1/tickets",
        json={"subject": "b", "customer": {"email": "SAME@example.com"}, "message": {"body": "2"}},
        headers=people.agent.headers,
    ).json()
    assert first["customer"]["id"] == second["customer"]["id"]
    mine = client.get("/api/v1/tickets", params={"customer_id": first["customer"]["id"]}, headers=people.agent.headers)
    assert len(mine.json()["items"]) == 2


def test_customer_notes_need_a_person(db: Database, people: Personas) -> None:
    with db.write() as session, pytest.raises(Forbidden):
        service.add_note(session, Actor.system("import"), people.customer.customer_id or 0, body="x")


def test_an_email_domain_belongs_to_one_organization(client: TestClient, people: Personas) -> None:
    headers = people.agent.headers
    first = client.post(
        "/api/v1/organizations",
        json={"name": "Ромашка", "domains": ["Romashka.example.com ", "romashka.example.org"]},
        headers=headers,
    )
    assert first.status_code == 201 and first.json()["domains"] == ["romashka.example.com", "romashka.example.org"]
    second = client.post(
        "/api/v1/organizations",
        json={"name": "Лютик", "domains": ["lutik.example.com", "romashka.example.org"]},
        headers=headers,
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "domain_taken"
    assert second.json()["error"]["details"][0]["field"] == "domains"
    assert [o["name"] for o in client.get("/api/v1/organizations", headers=headers).json()] == ["Ромашка"]

    # Giving a domain up frees it for another organization; the domains that stay keep working.
    kept = client.patch(
        f"/api/v1/organizations/{first.json()['id']}", json={"domains": ["romashka.example.com"]}, headers=headers
    )
    assert kept.status_code == 200 and kept.json()["domains"] == ["romashka.example.com"]
    moved = client.post(
        "/api/v1/organizations", json={"name": "Лютик", "domains": ["romashka.example.org"]}, headers=headers
    )
    assert moved.status_code == 201
    joined = client.post("/api/v1/customers", json={"email": "olga@ROMASHKA.example.org"}, headers=headers).json()
    assert joined["organization_id"] == moved.json()["id"]


@pytest.mark.parametrize("remembered", [2000, 1], ids=["map-remembered", "too-many-to-remember"])
def test_a_new_customer_joins_the_organization_of_their_domain_as_it_is_now(
    client: TestClient, people: Personas, monkeypatch: pytest.MonkeyPatch, remembered: int
) -> None:
    monkeypatch.setattr(domains, "REMEMBERED_DOMAINS", remembered)
    headers = people.agent.headers
    both = ["romashka.example.com", "romashka.example.org"]
    first = client.post("/api/v1/organizations", json={"name": "Ромашка", "domains": both}, headers=headers).json()
    early = client.post("/api/v1/customers", json={"email": "anna@romashka.example.org"}, headers=headers).json()
    stranger = client.post("/api/v1/customers", json={"email": "ivan@lutik.example.com"}, headers=headers).json()
    assert (early["organization_id"], stranger["organization_id"]) == (first["id"], None)

    client.patch(f"/api/v1/organizations/{first['id']}", json={"domains": both[:1]}, headers=headers)
    second = client.post(
        "/api/v1/organizations", json={"name": "Лютик", "domains": ["romashka.example.org"]}, headers=headers
    ).json()
    late = client.post("/api/v1/customers", json={"email": "boris@romashka.example.org"}, headers=headers).json()
    stays = client.post("/api/v1/customers", json={"email": "vera@romashka.example.com"}, headers=headers).json()
    assert (late["organization_id"], stays["organization_id"]) == (second["id"], first["id"])
