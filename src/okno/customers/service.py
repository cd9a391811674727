"""Customers, their identities, organizations and shared notes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts.permissions import Actor, require_agent, require_staff
from okno.customers import domains
from okno.customers.models import (
    Customer,
    CustomerIdentity,
    CustomerNote,
    CustomerNoteRevision,
    IdentityKind,
    Organization,
    OrganizationDomain,
    Plan,
)
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
            "merged_into_id": customer.merged_into_id,
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


def live_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    """The customer, refusing a record merged into another one: changes go to the one that stays."""
    customer = get_customer(session, actor, customer_id)
    if customer.merged_into_id is not None:
        raise Conflict(
            "This customer record was merged into another one; change that one.",
            code="customer_merged",
            details={"merged_into_id": customer.merged_into_id},
        )
    return customer


# Every message from outside asks who sent it: built once.
_BY_IDENTITY = (
    sa.select(Customer)
    .join(CustomerIdentity)
    .where(CustomerIdentity.kind == sa.bindparam("kind"), CustomerIdentity.value == sa.bindparam("value"))
    .options(*_loaded())
)


def find_by_identity(session: Session, kind: IdentityKind, value: str) -> Customer | None:
    found = session.scalars(_BY_IDENTITY, {"kind": kind, "value": normalise_identity(kind, value)})
    return found.first()


def _set_domains(session: Session, org: Organization, domains: list[str]) -> None:
    wanted = sorted({d.lower().strip() for d in domains if d.strip()})
    taken = session.scalars(
        sa.select(OrganizationDomain.domain).where(
            OrganizationDomain.domain.in_(wanted), OrganizationDomain.organization_id != (org.id or 0)
        )
    ).all()
    if taken:
        raise Conflict(
            f"{', '.join(sorted(taken))}: already the domain of another organization.",
            code="domain_taken",
            details=[{"field": "domains", "reason": "belongs to another organization", "domains": sorted(taken)}],
        )
    org.domains = wanted


def _add_identities(session: Session, customer: Customer, identities: list[IdentityIn]) -> None:
    now = utcnow(session)
    for identity in identities:
        value = normalise_identity(identity.kind, identity.value)
        owner = _owner_of(session, identity.kind, value)
        if owner is not None and owner != customer.id:
            raise _identity_taken(identity.kind, value, owner)
        if owner is None:
            customer.identities.append(
                CustomerIdentity(customer_id=customer.id, kind=identity.kind, value=value, created_at=now)
            )


def _owner_of(session: Session, kind: IdentityKind, value: str) -> int | None:
    return session.scalar(
        sa.select(CustomerIdentity.customer_id).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )


def _identity_taken(kind: IdentityKind, value: str, owner: int) -> Conflict:
    return Conflict(
        f"The {kind.value} {value} already belongs to another customer.",
        code="identity_taken",
        details=[{"field": "identities", "reason": "belongs to another customer", "customer_id": owner}],
    )


def _check_organization(session: Session, organization_id: int | None) -> None:
    if organization_id is not None and session.get(Organization, organization_id) is None:
        raise Invalid("no such organization", field="organization_id")


def create_customer(session: Session, actor: Actor, *, data: CustomerCreate, unclaimed: bool = False) -> Customer:
    """A new customer with its identities, refused (409) when one of them belongs to someone else.

    ``unclaimed``: the caller has just looked the identities up and found no owner, inside a
    savepoint, so they are not looked up again; a twin created meanwhile shows as the unique
    identity's violation, which rolls the savepoint back (``find_or_create_by_email``).
    """
    require_staff(actor)
    wanted = list(data.identities)
    if data.email:
        wanted.insert(0, IdentityIn(kind=IdentityKind.email, value=str(data.email)))
    identities = list(dict.fromkeys((i.kind, normalise_identity(i.kind, i.value)) for i in wanted))
    _check_organization(session, data.organization_id)
    if not unclaimed:
        for kind, value in identities:
            owner = _owner_of(session, kind, value)
            if owner is not None:
                raise _identity_taken(kind, value, owner)
    now = utcnow(session)
    organization_id = data.organization_id
    if organization_id is None and data.email:
        organization_id = domains.organization_for_email(session, str(data.email))
    customer = Customer(
        name=data.name or (str(data.email).split("@")[0] if data.email else ""),
        organization=session.get(Organization, organization_id) if organization_id is not None else None,
        plan=data.plan,
        attributes=data.attributes,
        created_at=now,
        updated_at=now,
        identities=[CustomerIdentity(kind=kind, value=value, created_at=now) for kind, value in identities],
    )
    session.add(customer)
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
            return create_customer(session, Actor.system(), data=CustomerCreate(name=name, email=email), unclaimed=True)
    except (Conflict, sa.exc.IntegrityError):
        winner = find_by_identity(session, IdentityKind.email, email)
        if winner is None:
            raise
        return winner


def update_customer(session: Session, actor: Actor, customer_id: int, *, changes: CustomerUpdate) -> Customer:
    require_agent(actor)
    customer = live_customer(session, actor, customer_id)
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


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_customers(
    session: Session,
    actor: Actor,
    *,
    q: str | None,
    after_id: int | None,
    limit: int,
    newest_first: bool = False,
    organization_id: int | None = None,
) -> list[Customer]:
    """Customers (merged records left out), by id; ``after_id`` is the keyset cursor.

    ``q`` looks in names and identities; a query that looks like a phone number also matches
    phone numbers written differently ("8 (999) 123-45-67" finds +79991234567).
    """
    require_staff(actor)
    query = sa.select(Customer).options(*_loaded()).where(Customer.merged_into_id.is_(None)).limit(limit)
    query = query.order_by(Customer.id.desc() if newest_first else Customer.id)
    if after_id is not None:
        query = query.where(Customer.id < after_id if newest_first else Customer.id > after_id)
    if organization_id is not None:
        query = query.where(Customer.organization_id == organization_id)
    if q and q.strip():
        pattern = _like(q.strip().lower())
        matches = [
            sa.func.lower(Customer.name).like(pattern, escape="\\"),
            Customer.id.in_(
                sa.select(CustomerIdentity.customer_id).where(
                    sa.func.lower(CustomerIdentity.value).like(pattern, escape="\\")
                )
            ),
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 5 and all(ch.isdigit() or ch in " +-()." for ch in q.strip()):
            matches.append(
                Customer.id.in_(
                    sa.select(CustomerIdentity.customer_id).where(
                        CustomerIdentity.kind == IdentityKind.phone,
                        # A national trunk prefix (8 or 7 before ten digits) is left out of the match.
                        CustomerIdentity.value.like(_like(digits[1:] if len(digits) == 11 else digits)),
                    )
                )
            )
        query = query.where(sa.or_(*matches))
    return list(session.scalars(query))


def add_note(session: Session, actor: Actor, customer_id: int, *, body: str) -> CustomerNote:
    require_agent(actor)
    if actor.user_id is None:
        raise Forbidden("Customer notes are written by people; sign in as an agent.")
    live_customer(session, actor, customer_id)
    body = _note_body(body)
    now = utcnow(session)
    note = CustomerNote(customer_id=customer_id, author_id=actor.user_id, body=body, created_at=now, updated_at=now)
    session.add(note)
    session.flush()
    return note


def _note_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise Invalid("write the note first", field="body")
    return body


def edit_note(session: Session, actor: Actor, customer_id: int, note_id: int, *, body: str) -> CustomerNote:
    """Any agent may correct a shared note; the text it replaces is kept as a revision."""
    require_agent(actor)
    if actor.user_id is None:
        raise Forbidden("Customer notes are written by people; sign in as an agent.")
    live_customer(session, actor, customer_id)
    note = session.scalar(
        sa.select(CustomerNote)
        .where(CustomerNote.id == note_id, CustomerNote.customer_id == customer_id)
        .with_for_update()
    )
    if note is None:
        raise NotFound("Note not found.")
    body = _note_body(body)
    if body == note.body:
        return note
    now = utcnow(session)
    session.add(
        CustomerNoteRevision(
            note_id=note.id,
            body=note.body,
            written_by_id=note.edited_by_id or note.author_id,
            written_at=note.edited_at or note.created_at,
            replaced_by_id=actor.user_id,
            replaced_at=now,
        )
    )
    note.body = body
    note.edited_at = now
    note.edited_by_id = actor.user_id
    note.updated_at = now
    session.flush()
    return note


def list_notes(
    session: Session, actor: Actor, customer_id: int, *, newest_first: bool = False, limit: int | None = None
) -> list[CustomerNote]:
    require_staff(actor)
    get_customer(session, actor, customer_id)
    order = (CustomerNote.id.desc(),) if newest_first else (CustomerNote.id,)
    query = sa.select(CustomerNote).where(CustomerNote.customer_id == customer_id).order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_notes(session: Session, actor: Actor, customer_id: int) -> int:
    require_staff(actor)
    return int(session.scalar(sa.select(sa.func.count()).where(CustomerNote.customer_id == customer_id)) or 0)


def note_revisions(session: Session, actor: Actor, customer_id: int, note_id: int) -> list[CustomerNoteRevision]:
    """Earlier texts of a note, oldest first."""
    require_staff(actor)
    get_customer(session, actor, customer_id)
    if (
        session.scalar(
            sa.select(CustomerNote.id).where(CustomerNote.id == note_id, CustomerNote.customer_id == customer_id)
        )
        is None
    ):
        raise NotFound("Note not found.")
    return list(
        session.scalars(
            sa.select(CustomerNoteRevision)
            .where(CustomerNoteRevision.note_id == note_id)
            .order_by(CustomerNoteRevision.id)
        )
    )


def merged_records(session: Session, actor: Actor, customer_id: int) -> list[Customer]:
    """The records merged into this one (the same person, found twice), oldest merge first."""
    require_staff(actor)
    return list(
        session.scalars(
            sa.select(Customer).where(Customer.merged_into_id == customer_id).order_by(Customer.merged_at, Customer.id)
        )
    )


def revisions_of(session: Session, actor: Actor, note_ids: set[int]) -> dict[int, list[CustomerNoteRevision]]:
    """Earlier texts of several notes at once (newest first), for a page listing them."""
    require_staff(actor)
    found: dict[int, list[CustomerNoteRevision]] = {}
    if not note_ids:
        return found
    for revision in session.scalars(
        sa.select(CustomerNoteRevision)
        .where(CustomerNoteRevision.note_id.in_(note_ids))
        .order_by(CustomerNoteRevision.id.desc())
    ):
        found.setdefault(revision.note_id, []).append(revision)
    return found


def create_organization(session: Session, actor: Actor, *, data: OrganizationCreate) -> Organization:
    require_agent(actor)
    if session.scalar(sa.select(Organization.id).where(Organization.name == data.name)) is not None:
        raise Conflict("An organization with this name exists.", code="name_taken")
    now = utcnow(session)
    org = Organization(
        name=data.name,
        plan=data.plan,
        shared_tickets=data.shared_tickets,
        attributes=data.attributes,
        created_at=now,
        updated_at=now,
    )
    _set_domains(session, org, data.domains)
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
        _set_domains(session, org, changes.domains)
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


def customer_counts(session: Session, actor: Actor, organization_ids: set[int]) -> dict[int, int]:
    """How many (unmerged) customers each organization has."""
    require_staff(actor)
    if not organization_ids:
        return {}
    rows = session.execute(
        sa.select(Customer.organization_id, sa.func.count(Customer.id))
        .where(Customer.organization_id.in_(organization_ids), Customer.merged_into_id.is_(None))
        .group_by(Customer.organization_id)
    )
    return {int(org_id or 0): int(count) for org_id, count in rows}


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
