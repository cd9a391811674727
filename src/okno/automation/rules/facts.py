"""Gathering a ticket's ``Facts`` for the conditions, asking only for what some rule needs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.automation.business_hours import service as business_hours
from okno.automation.rules.conditions import ConditionField, Facts
from okno.channels.email import mailboxes
from okno.customers import queries as customers_queries
from okno.errors import NotFound
from okno.tickets import access, automation_facts
from okno.tickets.automation_facts import EventFact

SYSTEM = Actor.system("rules")
# Which change events tell which field's old and new value (for "changed" and "changed to").
CHANGE_EVENTS = {
    "status_changed": "status",
    "priority_changed": "priority",
    "team_changed": "team",
    "assigned": "assignee",
}


def is_open(session: Session, team_id: int | None, at: datetime) -> bool:
    """Whether the team is on shift (its calendar, else the default one); always, without calendars."""
    return business_hours.on_shift(session, team_id, at)


def changes_of(events: Iterable[EventFact]) -> dict[str, tuple[Any, Any]]:
    """(first old, last new) of each field the events changed."""
    found: dict[str, tuple[Any, Any]] = {}
    for event in events:
        name = CHANGE_EVENTS.get(event.kind)
        if name is not None:
            old = found[name][0] if name in found else event.data.get("old")
            found[name] = (old, event.data.get("new"))
    return found


def load(
    session: Session,
    ticket_id: int,
    *,
    needs: set[ConditionField],
    at: datetime,
    events: list[EventFact] | None = None,
) -> Facts | None:
    """The ticket's facts now (None when it is gone or merged away); ``events`` are the change's."""
    try:
        ticket = access.get_ticket(session, SYSTEM, ticket_id)
    except NotFound:
        return None
    if ticket.merged_into_id is not None:
        return None
    events = events or []
    body = ""
    if ConditionField.body in needs:
        message_ids = [int(e.data.get("message_id") or 0) for e in events if e.kind in ("created", "message_received")]
        message_ids = [i for i in message_ids if i]
        body = "\n\n".join(automation_facts.customer_texts(session, ticket.id, message_ids))
    organization_id = None
    if ConditionField.organization in needs:
        organization_id = customers_queries.organizations_of(session, {ticket.customer_id}).get(ticket.customer_id)
    return Facts(
        ticket_id=ticket.id,
        channel=str(ticket.channel),
        subject=ticket.subject,
        customer_plan=str(ticket.customer_plan),
        tags=frozenset(tag.name for tag in ticket.tags),
        language=ticket.language,
        priority=str(ticket.priority),
        status=str(ticket.status),
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        body=body,
        organization_id=organization_id,
        mailbox_id=mailboxes.received_through(session, ticket.id) if ConditionField.mailbox in needs else None,
        business_open=is_open(session, ticket.team_id, at) if ConditionField.business_hours in needs else None,
        # A slot for triage: tickets carry no intent yet, and none is made up here.
        intent=getattr(ticket, "intent", None),
        changes=changes_of(events),
    )
