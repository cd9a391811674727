"""Read-only facts about customers that other domains ask for."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

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


def summaries(session: Session, customer_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Name and (most recent) email address of each customer, in one query."""
    found: dict[int, tuple[str, str | None]] = {}
    for customer_id, name, email in session.execute(
        sa.select(Customer.id, Customer.name, CustomerIdentity.value)
        .outerjoin(
            CustomerIdentity,
            sa.and_(CustomerIdentity.customer_id == Customer.id, CustomerIdentity.kind == IdentityKind.email),
        )
        .where(Customer.id.in_(customer_ids))
        .order_by(Customer.id, CustomerIdentity.id)
    ):
        if email is not None or customer_id not in found:
            found[customer_id] = (name, email)
    return found


def organizations_of(session: Session, customer_ids: set[int]) -> dict[int, int | None]:
    return {
        customer_id: organization_id
        for customer_id, organization_id in session.execute(
            sa.select(Customer.id, Customer.organization_id).where(Customer.id.in_(customer_ids))
        )
    }


def members_of(organization_id: int) -> sa.Select[Any]:
    """The ids of an organization's customers, as a subquery for other domains' filters."""
    return sa.select(Customer.id).where(Customer.organization_id == organization_id)


def organization_names(session: Session, organization_ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(organization_ids)))
        .tuples()
        .all()
    )
