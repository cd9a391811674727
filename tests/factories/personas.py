"""The people every test can count on: staff on two teams and two customers, with API tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.accounts.schemas import TeamCreate, UserCreate
from okno.customers import service as customers_service
from okno.customers.schemas import CustomerCreate
from okno.db import Database


@dataclass
class Person:
    user_id: int
    email: str
    token: str
    actor: Actor
    customer_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Personas:
    team_a: int
    team_b: int
    admin: Person
    agent: Person  # team A
    colleague: Person  # also team A
    other_agent: Person  # team B only, limited to its teams
    light_agent: Person
    customer: Person
    other_customer: Person
    extra: dict[str, Person] = field(default_factory=dict)


def make_person(
    db: Database,
    *,
    email: str,
    role: Role,
    team_ids: list[int] | None = None,
    limited: bool = False,
    customer_id: int | None = None,
    name: str | None = None,
) -> Person:
    with db.write() as session:
        user = accounts_service.create_user(
            session,
            Actor.system("tests"),
            data=UserCreate(
                email=email,
                name=name or email.split("@")[0].title(),
                role=role,
                team_ids=team_ids or [],
                limited_to_teams=limited,
                customer_id=customer_id,
            ),
        )
        _row, token = accounts_service.issue_token(session, user)
        actor = accounts_service.actor_for(session, user)
        return Person(user_id=user.id, email=email, token=token, actor=actor, customer_id=customer_id)


def make_customer(db: Database, *, email: str, name: str = "", organization_id: int | None = None) -> int:
    with db.write() as session:
        customer = customers_service.create_customer(
            session,
            Actor.system("tests"),
            data=CustomerCreate(email=email, name=name, organization_id=organization_id),
        )
        return customer.id


def make_customer_person(db: Database, *, email: str, organization_id: int | None = None) -> Person:
    customer_id = make_customer(db, email=email, organization_id=organization_id)
    return make_person(db, email=email, role=Role.customer, customer_id=customer_id)


def make_personas(db: Database) -> Personas:
    with db.write() as session:
        system = Actor.system("tests")
        team_a = accounts_service.create_team(session, system, data=TeamCreate(name="Support")).id
        team_b = accounts_service.create_team(session, system, data=TeamCreate(name="Billing")).id
    return Personas(
        team_a=team_a,
        team_b=team_b,
        admin=make_person(db, email="admin@okno.example.com", role=Role.admin),
        agent=make_person(db, email="agent@okno.example.com", role=Role.agent, team_ids=[team_a]),
        colleague=make_person(db, email="colleague@okno.example.com", role=Role.agent, team_ids=[team_a]),
        other_agent=make_person(db, email="billing@okno.example.com", role=Role.agent, team_ids=[team_b], limited=True),
        light_agent=make_person(db, email="light@okno.example.com", role=Role.light_agent, team_ids=[team_a]),
        customer=make_customer_person(db, email="anna@customer.example.org"),
        other_customer=make_customer_person(db, email="boris@other.example.net"),
    )
