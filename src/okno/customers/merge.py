"""Merging two customer records that turn out to be one person.

The source record is kept, pointing at the target (``merged_into_id``, with who merged it and
when), instead of being deleted, because history refers to it and history is append-only:
ticket events name customer ids in their payloads (``created``, ``customer_changed``),
messages and uploads keep the customer who wrote them, and exports already taken carry the
old id. Deleting the row would either break those references or force rewriting the event
log. The link also lets anything still holding the old id (an API client, a bookmarked page,
an imported system's key) find the person: the API answers the old record with its
``merged_into_id`` and the pages send the reader on to the record that stayed.

Everything that describes or belongs to the person moves to the target in the same
transaction: identities (mail from either address now reaches one card), notes (with their
revisions), tickets (through ``tickets.changes.move_customer``, so each ticket records a
``customer_changed`` event), participations on other tickets, sign-in accounts, and records
merged earlier into the source (so the chain stays one step long). The target's own name,
plan and organization win; the source fills only what the target lacks, and custom
attributes are combined with the target's values first.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor, require_agent
from okno.customers.models import Customer, CustomerIdentity, CustomerNote
from okno.customers.service import get_customer
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound
from okno.tickets import changes as ticket_changes

MERGE_REASON = "customers_merged"


@dataclass(frozen=True)
class MergeOutcome:
    target: Customer
    source_id: int
    moved_ticket_count: int
    moved_identity_count: int
    moved_note_count: int


def merge_customers(session: Session, actor: Actor, *, source_id: int, target_id: int) -> MergeOutcome:
    """Merges the source record into the target; see the module's docstring for what moves."""
    require_agent(actor)
    if source_id == target_id:
        raise Invalid("a customer record cannot be merged into itself", field="into_id")
    # Lock both rows, in id order, so two opposite merges at once cannot both go through.
    locked = {
        c.id: c
        for c in session.scalars(
            sa.select(Customer).where(Customer.id.in_([source_id, target_id])).order_by(Customer.id).with_for_update()
        )
    }
    if source_id not in locked:
        raise NotFound("Customer not found.")
    if target_id not in locked:
        raise Invalid("no such customer", field="into_id")
    source, target = locked[source_id], locked[target_id]
    for record, field in ((source, "id"), (target, "into_id")):
        if record.merged_into_id is not None:
            raise Conflict(
                f"Customer {record.id} was already merged into customer {record.merged_into_id}.",
                code="customer_merged",
                details={"field": field, "customer_id": record.id, "merged_into_id": record.merged_into_id},
            )
    moved_tickets = ticket_changes.move_customer(
        session, actor, from_customer_id=source.id, to_customer_id=target.id, reason=MERGE_REASON
    )
    moved_identities = _move(session, CustomerIdentity, source.id, target.id)
    moved_notes = _move(session, CustomerNote, source.id, target.id)
    accounts_service.relink_customer_accounts(session, actor, from_customer_id=source.id, to_customer_id=target.id)
    session.execute(
        sa.update(Customer)
        .where(Customer.merged_into_id == source.id)
        .values(merged_into_id=target.id)
        .execution_options(synchronize_session=False)
    )
    now = utcnow(session)
    target.name = target.name or source.name
    target.plan = target.plan or source.plan
    target.organization_id = target.organization_id or source.organization_id
    target.attributes = {**source.attributes, **target.attributes}
    target.updated_at = now
    source.merged_into_id = target.id
    source.merged_at = now
    source.merged_by_id = actor.user_id
    source.updated_at = now
    session.flush()
    # The bulk updates went around the identity map: load both records afresh.
    session.expire(source)
    session.expire(target)
    return MergeOutcome(
        target=get_customer(session, actor, target.id),
        source_id=source.id,
        moved_ticket_count=moved_tickets,
        moved_identity_count=moved_identities,
        moved_note_count=moved_notes,
    )


def _move(session: Session, table: type[CustomerIdentity] | type[CustomerNote], source_id: int, target_id: int) -> int:
    result = session.execute(
        sa.update(table)
        .where(table.customer_id == source_id)
        .values(customer_id=target_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
