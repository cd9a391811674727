"""Which organization a new customer belongs to, by the domain of their email address."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.customers.models import Organization, OrganizationDomain
from okno.memo import Memo

# Asked for every new customer: plain-table queries, built once (the ORM's handling would cost more than the query).
_DOMAINS = cast(sa.Table, OrganizationDomain.__table__)
_ORGANIZATION_OF_DOMAIN = sa.select(_DOMAINS.c.organization_id).where(_DOMAINS.c.domain == sa.bindparam("domain"))
# Help desks list a few hundred organization domains at most: up to this many, the whole map is
# remembered per process (okno.memo), and a first contact needs no query for its domain.
REMEMBERED_DOMAINS = 2000


def _organizations_by_domain(session: Session, _key: None) -> dict[str, int] | None:
    """Every domain's organization, or None when there are too many to remember."""
    every = sa.select(_DOMAINS.c.domain, _DOMAINS.c.organization_id).limit(REMEMBERED_DOMAINS + 1)
    rows = session.execute(every).all()
    return dict(rows) if len(rows) <= REMEMBERED_DOMAINS else None


ORGANIZATIONS_BY_DOMAIN: Memo[None, dict[str, int] | None] = Memo(
    "customers.organizations_by_domain", _organizations_by_domain, reads=(OrganizationDomain, Organization)
)


def organization_for_email(session: Session, email: str) -> int | None:
    domain = email.rsplit("@", 1)[-1].lower()
    remembered = ORGANIZATIONS_BY_DOMAIN.get(session, None)
    if remembered is not None:
        return remembered.get(domain)
    return session.scalar(_ORGANIZATION_OF_DOMAIN, {"domain": domain})
