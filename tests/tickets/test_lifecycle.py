import pytest

from okno.tickets import lifecycle
from okno.tickets.lifecycle import CustomerMessageOutcome as Outcome
from okno.tickets.models import TicketStatus as S


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        (S.new, S.open, True),
        (S.new, S.solved, True),
        (S.new, S.closed, False),
        (S.open, S.new, False),
        (S.open, S.pending, True),
        (S.pending, S.on_hold, True),
        (S.on_hold, S.open, True),
        (S.solved, S.open, True),
        (S.solved, S.closed, True),
        (S.solved, S.pending, False),
        (S.closed, S.open, False),
        (S.closed, S.solved, False),
        (S.closed, S.closed, True),  # no change is always fine
    ],
)
def test_transitions(old: S, new: S, allowed: bool) -> None:
    assert lifecycle.can_transition(old, new) is allowed


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (S.new, Outcome.stays),
        (S.open, Outcome.stays),
        (S.pending, Outcome.becomes_open),
        (S.on_hold, Outcome.becomes_open),
        (S.solved, Outcome.reopens),
        (S.closed, Outcome.follow_up),
    ],
)
def test_customer_message(status: S, outcome: Outcome) -> None:
    assert lifecycle.on_customer_message(status) is outcome


@pytest.mark.parametrize(
    ("status", "requested", "result"),
    [
        (S.new, None, S.open),
        (S.pending, None, S.pending),
        (S.new, S.solved, S.solved),
        (S.open, S.pending, S.pending),
    ],
)
def test_after_agent_reply(status: S, requested: S | None, result: S) -> None:
    assert lifecycle.after_agent_reply(status, requested) is result
