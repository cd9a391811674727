"""The primitive changes every use case shares, each recorded as its event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.db import utcnow
from okno.errors import Conflict, Invalid
from okno.tickets import events, lifecycle
from okno.tickets.events import EventKind
from okno.tickets.models import Ticket, TicketStatus


def check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and not accounts_queries.team_exists(session, team_id):
        raise Invalid("no such team", field="team_id")


def check_assignee(session: Session, assignee_id: int | None, team_id: int | None) -> None:
    if assignee_id is None:
        return
    if not accounts_queries.is_assignable(session, assignee_id):
        raise Invalid("the assignee must be an active agent, supervisor or admin", field="assignee_id")
    if team_id is not None and not accounts_queries.is_member(session, assignee_id, team_id):
        raise Invalid("the assignee is not on the ticket's team", field="assignee_id")


def check_transition(ticket: Ticket, target: TicketStatus) -> None:
    current = TicketStatus(ticket.status)
    if not lifecycle.can_transition(current, target):
        allowed = sorted(s.value for s in lifecycle.ALLOWED[current])
        raise Conflict(
            f"A {current.value} ticket cannot become {target.value}.",
            code="invalid_transition",
            details={"field": "status", "from": current.value, "to": target.value, "allowed": allowed},
        )


def set_status(session: Session, actor: Actor, ticket: Ticket, target: TicketStatus) -> None:
    current = TicketStatus(ticket.status)
    if current == target:
        return
    check_transition(ticket, target)
    now = utcnow(session)
    ticket.status = target
    ticket.updated_at = ticket.status_changed_at = now
    if target == TicketStatus.solved:
        ticket.solved_at = now
    elif target == TicketStatus.closed:
        ticket.closed_at = now
    elif current == TicketStatus.solved:
        ticket.solved_at = None
    events.record(
        session,
        ticket_id=ticket.id,
        kind=EventKind.status_changed,
        actor=actor,
        data={"old": current.value, "new": target.value},
    )


def assign(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    assignee_id: int | None,
    *,
    reason: str,
    routing: dict[str, Any] | None = None,
) -> None:
    """``routing`` is the routing decision behind an automatic assignment (events.RoutingReason)."""
    if ticket.assignee_id == assignee_id:
        return
    old = ticket.assignee_id
    ticket.assignee_id = assignee_id
    data: dict[str, Any] = {"old": old, "new": assignee_id, "reason": reason}
    if routing is not None:
        data["routing"] = routing
    events.record(session, ticket_id=ticket.id, kind=EventKind.assigned, actor=actor, data=data)
    if assignee_id is not None and ticket.status == TicketStatus.new:
        set_status(session, actor, ticket, TicketStatus.open)
