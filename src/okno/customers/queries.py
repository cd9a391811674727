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
    """Name and (most recent) email address of each customer, in two queries."""
    names = {
        customer_id: name
        for customer_id, name in session.execute(
            sa.select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))
        )
    }
    emails: dict[int, str] = {}
    for customer_id, value in session.execute(
        sa.select(CustomerIdentity.customer_id, CustomerIdentity.value)
        .where(CustomerIdentity.customer_id.in_(customer_ids), CustomerIdentity.kind == IdentityKind.email)
        .order_by(CustomerIdentity.id)
    ):
        emails[customer_id] = value
    return {customer_id: (name, emails.get(customer_id)) for customer_id, name in names.items()}


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
