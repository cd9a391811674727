"""Routing's queue is served by an index that holds only the waiting tickets, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from okno.tickets import workload
from tests.tickets.test_query_plans import plan, statements_of


def test_the_waiting_tickets_of_a_team_come_from_their_own_index(engine: sa.Engine) -> None:
    def read(session: sa.orm.Session) -> None:
        workload.waiting(session, [1], channels=["chat", "email"], limit=100)
        workload.waiting_counts(session, [1, 2])
        workload.teams_with_waiting(session, [1, 2])

    statements = statements_of(engine, read)
    assert len(statements) == 3
    for statement, parameters in statements:
        shown = plan(engine, statement, parameters)
        assert "ix_tickets_waiting_for_agent" in shown, (statement, shown)
