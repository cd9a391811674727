"""Pure status rules: which transitions are allowed and what a new message does to a ticket."""

from __future__ import annotations

from enum import Enum

from okno.tickets.models import TicketStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.new: frozenset({S.open, S.pending, S.on_hold, S.solved}),
    S.open: frozenset({S.pending, S.on_hold, S.solved}),
    S.pending: frozenset({S.open, S.on_hold, S.solved}),
    S.on_hold: frozenset({S.open, S.pending, S.solved}),
    S.solved: frozenset({S.open, S.closed}),
    S.closed: frozenset(),  # closed is final; a customer's new message opens a follow-up
}

# What customers may do with their own tickets: mark them solved (the portal's "close").
CUSTOMER_TARGETS = frozenset({S.solved})


def can_transition(old: S, new: S) -> bool:
    return old == new or new in ALLOWED[old]


class CustomerMessageOutcome(Enum):
    stays = "stays"
    reopens = "reopens"
    becomes_open = "becomes_open"
    follow_up = "follow_up"


def on_customer_message(status: S) -> CustomerMessageOutcome:
    if status == S.closed:
        return CustomerMessageOutcome.follow_up
    if status == S.solved:
        return CustomerMessageOutcome.reopens
    if status in {S.pending, S.on_hold}:
        return CustomerMessageOutcome.becomes_open
    return CustomerMessageOutcome.stays


def after_agent_reply(status: S, requested: S | None) -> S:
    """A reply without an explicit status moves a new ticket to open and keeps the others."""
    if requested is not None:
        return requested
    return S.open if status == S.new else status
