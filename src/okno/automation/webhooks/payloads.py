"""What a webhook says: the JSON bodies of its deliveries.

Every body has ``id`` (added by the delivery: what receivers deduplicate by), ``type`` (an event
kind, ``rule`` or ``ping``) and ``created_at``. Ticket events carry the ticket as the API shows
it to staff and the event as the API lists it; a rule's call carries the ticket and the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from okno.tickets import snapshots

if TYPE_CHECKING:
    from okno.automation.webhooks.models import WebhookSubscription
    from okno.tickets.schemas import EventRead, TicketRead


def takes(subscription: WebhookSubscription, kind: str) -> bool:
    """Whether the subscription wants events of ``kind`` (no kinds listed: every kind)."""
    return subscription.enabled and (not subscription.event_kinds or kind in subscription.event_kinds)


def for_event(ticket: TicketRead | None, event: EventRead) -> dict[str, Any]:
    return {
        "type": event.kind,
        "created_at": event.recorded_at.isoformat(),
        "ticket": ticket.model_dump(mode="json") if ticket is not None else None,
        "event": event.model_dump(mode="json"),
    }


def for_rule(
    session: Session, ticket_id: int, *, reason: str, event_id: int | None, at: datetime
) -> dict[str, Any] | None:
    ticket = snapshots.ticket(session, ticket_id)
    if ticket is None:
        return None
    events = snapshots.events(session, [event_id]) if event_id is not None else []
    return {
        "type": "rule",
        "created_at": at.isoformat(),
        "reason": reason,
        "ticket": ticket.model_dump(mode="json"),
        "event": events[0].model_dump(mode="json") if events else None,
    }


def ping(subscription: WebhookSubscription, at: datetime) -> dict[str, Any]:
    return {
        "type": "ping",
        "created_at": at.isoformat(),
        "subscription": {"id": subscription.id, "name": subscription.name},
    }
