"""Ticket events as the realtime bus carries them, and who may see each one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import (
    CUSTOMER_VISIBLE_EVENTS,
    Actor,
    TicketFacts,
    may_see_event,
    may_see_staff_signal,
    visible_tickets,
)
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.realtime import Envelope
from okno.tickets.events import PENDING_EVENTS_KEY
from okno.tickets.models import Ticket, TicketEvent, TicketParticipant

CATCH_UP_LIMIT = 1000


def _facts(session: Session, ticket_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Visibility facts of tickets as this unit of work leaves them (from the session when it has them)."""
    in_session = [t for t in session.identity_map.values() if isinstance(t, Ticket) and t.id in ticket_ids]
    if len(in_session) == len(ticket_ids) and all("participants" in t.__dict__ for t in in_session):
        organizations = customers_queries.organizations_of(session, {t.customer_id for t in in_session})
        return {
            t.id: {
                "team_id": t.team_id,
                "assignee_id": t.assignee_id,
                "customer_id": t.customer_id,
                "customer_organization_id": organizations.get(t.customer_id),
                "participant_ids": [p.customer_id for p in t.participants],
            }
            for t in in_session
        }
    return _facts_from_database(session, ticket_ids)


def _facts_from_database(session: Session, ticket_ids: set[int]) -> dict[int, dict[str, Any]]:
    rows = list(
        session.execute(
            sa.select(Ticket.id, Ticket.team_id, Ticket.assignee_id, Ticket.customer_id).where(
                Ticket.id.in_(ticket_ids)
            )
        )
    )
    organizations = customers_queries.organizations_of(session, {row[3] for row in rows})
    facts: dict[int, dict[str, Any]] = {
        ticket_id: {
            "team_id": team,
            "assignee_id": assignee,
            "customer_id": customer,
            "customer_organization_id": organizations.get(customer),
            "participant_ids": [],
        }
        for ticket_id, team, assignee, customer in rows
    }
    participants: dict[int, list[int]] = {ticket_id: [] for ticket_id in facts}
    for ticket_id, customer_id in session.execute(
        sa.select(TicketParticipant.ticket_id, TicketParticipant.customer_id).where(
            TicketParticipant.ticket_id.in_(ticket_ids)
        )
    ):
        participants[ticket_id].append(customer_id)
    for ticket_id, people in participants.items():
        facts[ticket_id]["participant_ids"] = people
    return facts


def _envelope(event: TicketEvent, facts: dict[str, Any]) -> Envelope:
    return Envelope(
        id=event.id,
        ticket_id=event.ticket_id,
        kind=event.kind,
        actor_type=str(event.actor_type),
        actor_id=event.actor_id,
        occurred_at=event.occurred_at.isoformat(),
        data=event.data,
        facts=facts,
    )


def facts_of(session: Session, ticket_id: int) -> dict[str, Any]:
    """Who may see a ticket's events, as committed now: for signals about that ticket."""
    return _facts_from_database(session, {ticket_id})[ticket_id]


class TicketFeed:
    def envelopes(self, session: Session) -> list[Envelope]:
        pending: list[TicketEvent] = session.info.pop(PENDING_EVENTS_KEY, [])
        if not pending:
            return []
        facts = _facts(session, {e.ticket_id for e in pending})
        return [_envelope(e, facts[e.ticket_id]) for e in sorted(pending, key=lambda e: e.id)]

    def catch_up(self, session: Session, viewer: Any, *, after_id: int, settle_seconds: int) -> list[Envelope]:
        actor: Actor = viewer
        since = utcnow(session) - timedelta(seconds=settle_seconds)
        query = (
            sa.select(TicketEvent)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(visible_tickets(actor))
            .where(sa.or_(TicketEvent.id > after_id, TicketEvent.recorded_at >= since))
            .order_by(TicketEvent.id)
            .limit(CATCH_UP_LIMIT)
        )
        if not actor.is_staff:
            query = query.where(TicketEvent.kind.in_(sorted(CUSTOMER_VISIBLE_EVENTS)))
        rows = list(session.scalars(query))
        facts = _facts(session, {e.ticket_id for e in rows}) if rows else {}
        return [_envelope(e, facts[e.ticket_id]) for e in rows]

    def visible(self, viewer: Any, envelope: Envelope) -> bool:
        facts = envelope.facts
        if facts.get("audience") == "staff":
            return may_see_staff_signal(viewer)
        if facts.get("audience") == "customers" and not viewer.is_customer:
            return False  # meant for the customer's side only (colleagues have their own signal)
        return may_see_event(
            viewer,
            envelope.kind,
            TicketFacts(
                team_id=facts.get("team_id"),
                assignee_id=facts.get("assignee_id"),
                customer_id=int(facts.get("customer_id", 0)),
                customer_organization_id=facts.get("customer_organization_id"),
                participant_ids=frozenset(facts.get("participant_ids", [])),
            ),
        )
