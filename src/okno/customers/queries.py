"""Read-only facts about customers that other domains ask for."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from okno.customers.models import Customer, CustomerIdentity, IdentityKind, Organization


def shared_organization_of(session: Session, customer_id: int) -> int | None:
    """The customer's organization if it shares tickets among its people, else None."""
    return session.scalar(
        sa.select(Organization.id)
        .join(Customer, Customer.organization_id == Organization.id)
        .where(Customer.id == customer_id, Organization.shared_tickets.is_(True))
    )


def customer_exists(session: Session, customer_id: int) -> bool:
    return session.get(Customer, customer_id) is not None


def _held(session: Session, customer_id: int, *attributes: str) -> Customer | None:
    """The customer as the unit of work holds it already, when it has these attributes loaded (not expired)."""
    held = session.identity_map.get(identity_key(Customer, customer_id))
    if isinstance(held, Customer) and all(name in held.__dict__ for name in attributes):
        return held
    return None


# Asked for every page of tickets: built once.
_NAMES_AND_EMAILS = (
    sa.select(Customer.id, Customer.name, CustomerIdentity.value)
    .outerjoin(
        CustomerIdentity,
        sa.and_(CustomerIdentity.customer_id == Customer.id, CustomerIdentity.kind == IdentityKind.email),
    )
    .where(Customer.id.in_(sa.bindparam("customer_ids", expanding=True)))
    .order_by(Customer.id, CustomerIdentity.id)
)


def summaries(session: Session, customer_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Name and (most recent) email address of each customer, in one query at most."""
    found: dict[int, tuple[str, str | None]] = {}
    for customer_id in customer_ids:
        held = _held(session, customer_id, "name", "identities")
        if held is not None:
            emails = [i.value for i in held.identities if i.kind == IdentityKind.email]  # by id
            found[customer_id] = (held.name, emails[-1] if emails else None)
    missing = customer_ids - found.keys()
    if not missing:
        return found
    for customer_id, name, email in session.execute(_NAMES_AND_EMAILS, {"customer_ids": sorted(missing)}):
        if email is not None or customer_id not in found:
            found[customer_id] = (name, email)
    return found


def organizations_of(session: Session, customer_ids: set[int]) -> dict[int, int | None]:
    """Each customer's organization; customers the unit of work holds already are answered from it."""
    found: dict[int, int | None] = {}
    for customer_id in customer_ids:
        held = _held(session, customer_id, "organization_id")
        if held is not None:
            found[customer_id] = held.organization_id
    missing = customer_ids - found.keys()
    if missing:
        query = sa.select(Customer.id, Customer.organization_id).where(Customer.id.in_(missing))
        found.update({customer_id: organization_id for customer_id, organization_id in session.execute(query)})
    return found


def members_of(organization_id: int) -> sa.Select[Any]:
    """The ids of an organization's customers, as a subquery for other domains' filters."""
    return sa.select(Customer.id).where(Customer.organization_id == organization_id)


def organization_names(session: Session, organization_ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(organization_ids)))
        .tuples()
        .all()
    )
