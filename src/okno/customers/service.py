"""Customers, their identities, organizations and shared notes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts.permissions import Actor, require_agent, require_staff
from okno.customers.models import Customer, CustomerIdentity, CustomerNote, IdentityKind, Organization, Plan
from okno.customers.schemas import (
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    IdentityIn,
    OrganizationCreate,
)
from okno.customers.schemas import OrganizationUpdate as OrganizationChanges
from okno.db import utcnow
from okno.errors import Conflict, Forbidden, Invalid, NotFound


def normalise_identity(kind: IdentityKind, value: str) -> str:
    value = value.strip()
    if kind == IdentityKind.email:
        return value.lower()
    if kind == IdentityKind.phone:
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) < 5:
            raise Invalid("a phone number needs at least five digits", field="identities.value")
        return "+" + digits
    return value


def effective_plan(customer: Customer) -> Plan:
    """The customer's own plan, else the organization's, else free. Needs ``organization`` loaded."""
    if customer.plan:
        return Plan(customer.plan)
    if customer.organization is not None:
        return Plan(customer.organization.plan)
    return Plan.free


def to_read(customer: Customer) -> CustomerRead:
    email = next((i.value for i in customer.identities if i.kind == IdentityKind.email), None)
    return CustomerRead.model_validate(
        {
            "id": customer.id,
            "name": customer.name,
            "email": email,
            "organization_id": customer.organization_id,
            "plan": customer.plan,
            "effective_plan": effective_plan(customer),
            "attributes": customer.attributes,
            "identities": customer.identities,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
        }
    )


def _loaded() -> tuple[Any, ...]:
    return (selectinload(Customer.identities), selectinload(Customer.organization))


def get_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    if not actor.is_staff and actor.customer_id != customer_id:
        raise NotFound("Customer not found.")
    customer = session.scalars(sa.select(Customer).where(Customer.id == customer_id).options(*_loaded())).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


def find_by_identity(session: Session, kind: IdentityKind, value: str) -> Customer | None:
    return session.scalars(
        sa.select(Customer)
        .join(CustomerIdentity)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == normalise_identity(kind, value))
        .options(*_loaded())
    ).first()


def _organization_for_email(session: Session, email: str) -> int | None:
    domain = email.rsplit("@", 1)[-1].lower()
    for org_id, domains in session.execute(sa.select(Organization.id, Organization.domains)):
        if domain in {d.lower() for d in domains or []}:
            return int(org_id)
    return None


def _add_identities(session: Session, customer: Customer, identities: list[IdentityIn]) -> None:
    now = utcnow(session)
    for identity in identities:
        value = normalise_identity(identity.kind, identity.value)
        owner = session.scalar(
            sa.select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == identity.kind, CustomerIdentity.value == value
            )
        )
        if owner is not None and owner != customer.id:
            raise Conflict(
                f"The {identity.kind.value} {value} already belongs to another customer.",
                code="identity_taken",
                details=[{"field": "identities", "reason": "belongs to another customer", "customer_id": owner}],
            )
        if owner is None:
            customer.identities.append(
                CustomerIdentity(customer_id=customer.id, kind=identity.kind, value=value, created_at=now)
            )


def _check_organization(session: Session, organization_id: int | None) -> None:
    if organization_id is not None and session.get(Organization, organization_id) is None:
        raise Invalid("no such organization", field="organization_id")


def create_customer(session: Session, actor: Actor, *, data: CustomerCreate) -> Customer:
    require_staff(actor)
    identities = list(data.identities)
    if data.email:
        identities.insert(0, IdentityIn(kind=IdentityKind.email, value=str(data.email)))
    _check_organization(session, data.organization_id)
    now = utcnow(session)
    organization_id = data.organization_id
    if organization_id is None and data.email:
        organization_id = _organization_for_email(session, str(data.email))
    customer = Customer(
        name=data.name or (str(data.email).split("@")[0] if data.email else ""),
        organization=session.get(Organization, organization_id) if organization_id is not None else None,
        plan=data.plan,
        attributes=data.attributes,
        created_at=now,
        updated_at=now,
        identities=[],
    )
    session.add(customer)
    session.flush()
    _add_identities(session, customer, identities)
    session.flush()
    return customer


def find_or_create_by_email(session: Session, *, email: str, name: str = "") -> Customer:
    """The customer behind an address, created on first contact; used by every channel."""
    existing = find_by_identity(session, IdentityKind.email, email)
    if existing is not None:
        if name and not existing.name:
            existing.name = name
        return existing
    # Two first contacts from one address at once: one wins the unique identity, the other
    # rolls back to its savepoint and takes the winner's customer.
    try:
        with session.begin_nested():
            return create_customer(session, Actor.system(), data=CustomerCreate(name=name, email=email))
    except (Conflict, sa.exc.IntegrityError):
        winner = find_by_identity(session, IdentityKind.email, email)
        if winner is None:
            raise
        return winner


def update_customer(session: Session, actor: Actor, customer_id: int, *, changes: CustomerUpdate) -> Customer:
    require_agent(actor)
    customer = get_customer(session, actor, customer_id)
    given = changes.model_dump(exclude_unset=True)
    if "organization_id" in given:
        _check_organization(session, changes.organization_id)
        customer.organization_id = changes.organization_id
    if changes.name is not None:
        customer.name = changes.name
    if "plan" in given:
        customer.plan = changes.plan
    if changes.attributes is not None:
        customer.attributes = changes.attributes
    _add_identities(session, customer, changes.add_identities)
    customer.updated_at = utcnow(session)
    session.flush()
    session.expire(customer, ["organization"])
    return get_customer(session, actor, customer.id)


def list_customers(
    session: Session, actor: Actor, *, q: str | None, after_id: int | None, limit: int
) -> list[Customer]:
    require_staff(actor)
    query = sa.select(Customer).options(*_loaded()).order_by(Customer.id).limit(limit)
    if after_id is not None:
        query = query.where(Customer.id > after_id)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Customer.name).like(pattern),
                Customer.id.in_(sa.select(CustomerIdentity.customer_id).where(CustomerIdentity.value.like(pattern))),
            )
        )
    return list(session.scalars(query))


def add_note(session: Session, actor: Actor, customer_id: int, *, body: str) -> CustomerNote:
    require_agent(actor)
    if actor.user_id is None:
        raise Forbidden("Customer notes are written by people; sign in as an agent.")
    get_customer(session, actor, customer_id)
    now = utcnow(session)
    note = CustomerNote(customer_id=customer_id, author_id=actor.user_id, body=body, created_at=now, updated_at=now)
    session.add(note)
    session.flush()
    return note


def list_notes(session: Session, actor: Actor, customer_id: int) -> list[CustomerNote]:
    require_staff(actor)
    get_customer(session, actor, customer_id)
    return list(
        session.scalars(
            sa.select(CustomerNote).where(CustomerNote.customer_id == customer_id).order_by(CustomerNote.id)
        )
    )


def create_organization(session: Session, actor: Actor, *, data: OrganizationCreate) -> Organization:
    require_agent(actor)
    if session.scalar(sa.select(Organization.id).where(Organization.name == data.name)) is not None:
        raise Conflict("An organization with this name exists.", code="name_taken")
    now = utcnow(session)
    org = Organization(
        name=data.name,
        domains=sorted({d.lower().strip() for d in data.domains if d.strip()}),
        plan=data.plan,
        shared_tickets=data.shared_tickets,
        attributes=data.attributes,
        created_at=now,
        updated_at=now,
    )
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, actor: Actor, organization_id: int) -> Organization:
    require_staff(actor)
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("Organization not found.")
    return org


def update_organization(
    session: Session, actor: Actor, organization_id: int, *, changes: OrganizationChanges
) -> Organization:
    require_agent(actor)
    org = get_organization(session, actor, organization_id)
    if changes.name is not None and changes.name != org.name:
        if session.scalar(sa.select(Organization.id).where(Organization.name == changes.name)) is not None:
            raise Conflict("An organization with this name exists.", code="name_taken")
        org.name = changes.name
    if changes.domains is not None:
        org.domains = sorted({d.lower().strip() for d in changes.domains if d.strip()})
    if changes.plan is not None:
        org.plan = changes.plan
    if changes.shared_tickets is not None:
        org.shared_tickets = changes.shared_tickets
    if changes.attributes is not None:
        org.attributes = changes.attributes
    org.updated_at = utcnow(session)
    session.flush()
    return org


def list_organizations(session: Session, actor: Actor) -> list[Organization]:
    require_staff(actor)
    return list(session.scalars(sa.select(Organization).order_by(Organization.name)))


def delete_organization(session: Session, actor: Actor, organization_id: int) -> None:
    require_agent(actor)
    org = get_organization(session, actor, organization_id)
    if session.scalar(sa.select(Customer.id).where(Customer.organization_id == org.id).limit(1)) is not None:
        raise Conflict("The organization still has customers; move them first.", code="in_use")
    session.delete(org)
    session.flush()


def delete_customer(session: Session, actor: Actor, customer_id: int) -> None:
    """Removes a customer nothing refers to (a mistaken entry); one with history is kept.

    The foreign keys decide: tickets, messages, participations or a sign-in account refuse it.
    """
    require_agent(actor)
    customer = get_customer(session, actor, customer_id)
    try:
        with session.begin_nested():
            session.delete(customer)
            session.flush()
    except sa.exc.IntegrityError:
        raise Conflict("The customer has tickets or a sign-in account; their history is kept.", code="in_use") from None
