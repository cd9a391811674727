"""Routing's queue is served by an index that holds only the waiting tickets, on both databases."""

from __future__ import annotations

import re

import sqlalchemy as sa

from okno.tickets import workload
from tests.tickets.test_query_plans import plan, statements_of


def test_a_drain_takes_the_waiting_tickets_from_their_own_index(engine: sa.Engine) -> None:
    statements = statements_of(engine, lambda session: workload.waiting(session, [1], channels=["chat"], limit=100))
    assert len(statements) == 1
    shown = plan(engine, *statements[0])
    assert "ix_tickets_waiting_for_agent" in shown, shown


def test_counting_what_waits_reads_an_index_not_the_table(engine: sa.Engine) -> None:
    def read(session: sa.orm.Session) -> None:
        workload.waiting_counts(session, [1, 2])
        workload.teams_with_waiting(session, of_agents=[1, 2], channel="chat")

    statements = statements_of(engine, read)
    assert len(statements) == 2
    for statement, parameters in statements:
        shown = plan(engine, statement, parameters)
        # Either the waiting tickets' own index or (assignee, status); never every ticket.
        assert "ix_tickets_waiting_for_agent" in shown or "ix_tickets_assignee_status" in shown, shown


def test_what_waits_and_the_agents_loads_come_from_indexes(engine: sa.Engine) -> None:
    statements = statements_of(
        engine,
        lambda session: workload.waiting_teams_and_loads(session, [1, 2], user_ids=[3, 4], statuses=["new", "open"]),
    )
    assert len(statements) == 1
    shown = plan(engine, *statements[0])
    # Both parts read an index (which one depends on the table's size); never every ticket.
    assert "Seq Scan" not in shown and not re.search(r"SCAN tickets(?! USING)", shown), shown
