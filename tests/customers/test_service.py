"""Customers created on first contact and by staff: identities stay unique, on both databases."""

from __future__ import annotations

import pytest

from okno.customers import service
from okno.customers.schemas import CustomerCreate, IdentityIn
from okno.db import Database
from okno.errors import Conflict
from tests.factories.personas import Personas


def test_first_contact_creates_the_customer_once(db: Database) -> None:
    with db.write() as session:
        first = service.find_or_create_by_email(session, email="Olga@Example.com", name="Olga")
        again = service.find_or_create_by_email(session, email="olga@example.com", name="Other")
        assert again.id == first.id and again.name == "Olga"
        assert [(i.kind, i.value) for i in first.identities] == [("email", "olga@example.com")]


def test_a_twin_created_meanwhile_is_taken_instead(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two first contacts at once: the one that loses the unique identity takes the winner's customer."""
    with db.write() as session:
        winner = service.find_or_create_by_email(session, email="twin@example.com", name="Twin")
    looked_up = service.find_by_identity
    looks: list[object] = []

    def racing(*args: object, **kwargs: object) -> object:
        looks.append(args)
        # The loser's first look came before the winner's commit.
        return None if len(looks) == 1 else looked_up(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "find_by_identity", racing)
    with db.write() as session:
        loser = service.find_or_create_by_email(session, email="twin@example.com", name="Twin again")
        assert loser.id == winner.id and len(looks) == 2
    with db.read() as session:
        found = service.find_by_identity(session, "email", "twin@example.com")  # type: ignore[arg-type]
        assert found is not None and found.id == winner.id


def test_an_identity_of_someone_else_is_refused_before_anything_is_written(db: Database, people: Personas) -> None:
    with db.write() as session:
        owner = service.create_customer(session, people.agent.actor, data=CustomerCreate(email="kept@example.com")).id
    with pytest.raises(Conflict) as refused, db.write() as session:
        service.create_customer(
            session,
            people.agent.actor,
            data=CustomerCreate(name="Copy", identities=[IdentityIn(kind="email", value="KEPT@example.com")]),
        )
    assert refused.value.code == "identity_taken"
    assert refused.value.details == [
        {"field": "identities", "reason": "belongs to another customer", "customer_id": owner}
    ]


def test_an_identity_given_twice_is_kept_once(db: Database, people: Personas) -> None:
    with db.write() as session:
        customer = service.create_customer(
            session,
            people.agent.actor,
            data=CustomerCreate(
                email="dup@example.com",
                identities=[
                    IdentityIn(kind="email", value="DUP@example.com"),
                    IdentityIn(kind="phone", value="+7 999 1"),
                ],
            ),
        )
        assert sorted((i.kind, i.value) for i in customer.identities) == [
            ("email", "dup@example.com"),
            ("phone", "+79991"),
        ]
