"""The queries every page view runs use an index on both databases, so they stay fast at a million tickets.

Test tables are tiny, so PostgreSQL's planner is told to avoid sequential scans: the plan then shows
whether an index *can* serve the query (with the real statistics of a large table it does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.tickets import queries


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
