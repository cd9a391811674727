"""The queries every page view runs use an index on both databases, so they stay fast at a million tickets.

Test tables are tiny, so PostgreSQL's planner is told to avoid sequential scans: the plan then shows
whether an index *can* serve the query (with the real statistics of a large table it does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.automation.sla import evaluation
from okno.tickets import inbox, queries


def statements_of(engine: sa.Engine, work: Callable[[Session], Any]) -> list[tuple[str, Any]]:
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the BEGIN of SQLite's transactions
            captured.append((statement, parameters))

    with engine.connect() as connection:
        sa.event.listen(connection, "before_cursor_execute", capture)
        try:
            with Session(bind=connection) as session:
                work(session)
        finally:
            sa.event.remove(connection, "before_cursor_execute", capture)
        connection.rollback()
    return captured


def plan(engine: sa.Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


def test_the_ticket_page_finds_merged_tickets_through_an_index(engine: sa.Engine) -> None:
    # The ticket page gathers the history of tickets merged into the one shown, on every view.
    statements = statements_of(engine, lambda session: queries.merged_ticket_ids(session, 1))
    assert statements
    for statement, parameters in statements:
        shown = plan(engine, statement, parameters)
        assert "ix_tickets_merged_into" in shown, (statement, shown)


def test_the_sla_at_risk_view_reads_its_index(engine: sa.Engine) -> None:
    # A million tickets, most of them solved: the view and its count read only the tickets whose
    # SLA clock runs, in due order, never the table.
    actor = Actor(role=Role.agent, user_id=1)
    filters = inbox.BY_KEY["sla_at_risk"].filters(actor, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def work(session: Session) -> None:
        queries.list_tickets(session, actor, filters, sort="sla_due_at", limit=50)
        inbox.count_capped(session, actor, filters)

    statements = statements_of(engine, work)
    assert len(statements) == 2  # no second query for tickets without a due time
    for statement, parameters in statements:
        shown = plan(engine, statement, parameters)
        assert "ix_tickets_sla_due" in shown, (statement, shown)


def test_the_spam_view_reads_its_index(engine: sa.Engine) -> None:
    # Spam is a sliver of a million tickets: the folder and its count read only its own index.
    actor = Actor(role=Role.agent, user_id=1)
    filters = inbox.BY_KEY["spam"].filters(actor, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def work(session: Session) -> None:
        queries.list_tickets(session, actor, filters, limit=50)
        inbox.count_capped(session, actor, filters)

    statements = statements_of(engine, work)
    assert len(statements) == 2
    for statement, parameters in statements:
        shown = plan(engine, statement, parameters)
        assert "ix_tickets_spam" in shown, (statement, shown)


def test_the_sla_sweep_reads_only_targets_that_need_it(engine: sa.Engine) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    statements = statements_of(
        engine, lambda session: evaluation.sweep(session, now=now, rules=[], warning_lead=timedelta(minutes=15))
    )
    shown = [plan(engine, statement, parameters) for statement, parameters in statements]
    assert len(shown) == 2
    assert "ix_sla_targets_breach_due" in shown[0] and "ix_sla_targets_warning_due" in shown[1], shown
