"""One change applied to many tickets at once (the inbox's bulk actions), reported per ticket.

Every ticket goes through ``changes.update_ticket`` (rules, permissions, events) inside its own
savepoint of the one request transaction: a ticket that refuses the change is rolled back alone,
with its reason, and the others are committed together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_agent
from okno.errors import Invalid, OknoError
from okno.tickets.changes import update_ticket
from okno.tickets.events import PENDING_EVENTS_KEY
from okno.tickets.schemas import TicketUpdate

MAX_TICKETS = 100


@dataclass(frozen=True)
class Refusal:
    ticket_id: int
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class BulkOutcome:
    changed: list[int] = dataclasses.field(default_factory=list)
    refused: list[Refusal] = dataclasses.field(default_factory=list)


def update_many(session: Session, actor: Actor, ticket_ids: Iterable[int], *, changes: TicketUpdate) -> BulkOutcome:
    ids = _checked(actor, ticket_ids)
    if not changes.model_fields_set:
        raise Invalid("choose what to change", field="action")
    return _apply_many(session, ids, lambda ticket_id: update_ticket(session, actor, ticket_id, changes=changes))


def change_many(
    session: Session, actor: Actor, ticket_ids: Iterable[int], change: Callable[[int], object]
) -> BulkOutcome:
    """Another use case for each ticket (moving it into the spam folder), with the same per-ticket report."""
    return _apply_many(session, _checked(actor, ticket_ids), change)


def _checked(actor: Actor, ticket_ids: Iterable[int]) -> list[int]:
    require_agent(actor)
    ids = sorted(set(ticket_ids))  # id order: two bulk changes lock the same tickets in the same order
    if not ids:
        raise Invalid("select at least one ticket", field="ticket_id")
    if len(ids) > MAX_TICKETS:
        raise Invalid(f"select at most {MAX_TICKETS} tickets at a time", field="ticket_id")
    return ids


def _apply_many(session: Session, ids: list[int], change: Callable[[int], object]) -> BulkOutcome:
    outcome = BulkOutcome()
    for ticket_id in ids:
        pending = session.info.setdefault(PENDING_EVENTS_KEY, [])
        mark = len(pending)
        try:
            with session.begin_nested():
                change(ticket_id)
        except OknoError as refused:
            # Its events were rolled back with the savepoint: they must not be pushed to anyone either.
            del session.info.get(PENDING_EVENTS_KEY, [])[mark:]
            outcome.refused.append(_refusal(ticket_id, refused))
        else:
            outcome.changed.append(ticket_id)
    return outcome


def _refusal(ticket_id: int, error: OknoError) -> Refusal:
    details = error.details
    field_name = None
    extra: dict[str, Any] = {}
    if isinstance(details, list) and details and isinstance(details[0], dict):
        field_name = details[0].get("field")
    elif isinstance(details, dict):
        field_name = details.get("field")
        extra = {k: details[k] for k in ("from", "to") if k in details}
    return Refusal(ticket_id=ticket_id, code=error.code, message=error.message, field=field_name, details=extra)
