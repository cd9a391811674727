"""@mentions in internal notes: who may be named on a ticket, and checking the names given.

A mention is structured data, not text: the note's ``note_added`` event carries the
mentioned user ids (ids only, ADR 0007), and each one gets a notification in the note's
transaction. Only staff who may open the ticket can be mentioned; naming anyone else is
refused with a clear error rather than notifying them of a ticket their teams keep from
them (or silently notifying nobody while the writer thinks they did).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, TicketFacts, may_be_mentioned
from okno.errors import Invalid
from okno.tickets.models import Ticket

MAX_MENTIONS = 20
SUGGESTIONS = 8


def facts_of(ticket: Ticket) -> TicketFacts:
    return TicketFacts(
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        customer_id=ticket.customer_id,
        customer_organization_id=None,  # staff visibility does not depend on it
    )


def check(session: Session, ticket: Ticket, user_ids: list[int]) -> list[int]:
    """The mentioned ids, each once, if every one is an active colleague who may open the ticket."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    colleagues = accounts_queries.staff_actors(session, set(wanted))
    unknown = [user_id for user_id in wanted if user_id not in colleagues]
    if unknown:
        error = Invalid(
            "Mentioned users must be active colleagues.", field="mentioned_user_ids", code="unknown_mention"
        )
        error.details[0]["user_ids"] = unknown
        raise error
    facts = facts_of(ticket)
    blocked = [user_id for user_id in wanted if not may_be_mentioned(colleagues[user_id], facts)]
    if blocked:
        names = ", ".join(colleagues[user_id].name for user_id in blocked)
        error = Invalid(
            f"{names} cannot open this ticket (it is not on their teams), so the note cannot mention them. "
            "Move the ticket to their team or assign it to them first.",
            field="mentioned_user_ids",
            code="mention_not_allowed",
        )
        error.details[0]["user_ids"] = blocked
        raise error
    return wanted


def candidates(session: Session, actor: Actor, ticket: Ticket, q: str) -> list[tuple[int, str]]:
    """Colleagues whose name starts with ``q`` and who may open the ticket: (id, name), the writer excluded."""
    found = accounts_queries.find_staff(session, q, limit=50)
    colleagues = accounts_queries.staff_actors(session, {user_id for user_id, _name, _email in found})
    facts = facts_of(ticket)
    return [
        (user_id, name)
        for user_id, name, _email in found
        if user_id != actor.user_id and user_id in colleagues and may_be_mentioned(colleagues[user_id], facts)
    ][:SUGGESTIONS]
