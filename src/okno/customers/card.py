"""The customer card as the workspace shows it: on the customer's page and beside a ticket.

Read-only composition of the customers and tickets domains; every ticket list starts from
the permission filter, so a card never shows a ticket its reader may not open.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, may_change_customers
from okno.customers import service
from okno.tickets import queries as ticket_queries

SIDEBAR_TICKETS = 5
SIDEBAR_NOTES = 3


def attributes_text(attributes: dict[str, Any]) -> str:
    """Custom attributes as the edit form shows them: one ``key: value`` a line."""
    return "\n".join(f"{key}: {_shown(value)}" for key, value in attributes.items())


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def shown_attributes(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, _shown(value)) for key, value in attributes.items()]


def sidebar(session: Session, actor: Actor, customer_id: int, *, ticket_id: int) -> dict[str, Any]:
    """What the ticket page's customer card needs besides the customer itself."""
    customer = service.get_customer(session, actor, customer_id)
    rows, _cursor = ticket_queries.list_tickets(
        session, actor, ticket_queries.TicketFilters(customer_id=customer_id), limit=SIDEBAR_TICKETS + 1
    )
    others = [t for t in ticket_queries.to_reads(session, rows) if t.id != ticket_id][:SIDEBAR_TICKETS]
    notes = service.list_notes(session, actor, customer_id, newest_first=True, limit=SIDEBAR_NOTES)
    authors = {n.author_id for n in notes} | {n.edited_by_id for n in notes if n.edited_by_id}
    return {
        "organization_name": customer.organization.name if customer.organization else None,
        "attributes": shown_attributes(customer.attributes),
        "other_tickets": others,
        "notes": notes,
        "note_count": service.count_notes(session, actor, customer_id),
        "author_names": accounts_queries.user_names(session, authors),
        "can_change": may_change_customers(actor),
    }
