"""The migrations build exactly the schema the models describe, on each database."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from okno import model_registry
from tests import databases

# Alembic cannot compare indexes on expressions (``priority_rank DESC``): it reports them removed
# and added again. Their presence is checked below instead.
EXPRESSION_INDEXES = {
    index.name
    for table in model_registry.metadata.tables.values()
    for index in table.indexes
    if any(not isinstance(part, sa.Column) for part in index.expressions)
}


def _models_own(name: str | None, kind: str, parent_names: object) -> bool:
    # SQLite has no sequences: the migrations give it a counter table that no model maps.
    if kind == "table" and name == "okno_sequences":
        return False
    return not (kind == "index" and name in EXPRESSION_INDEXES)


def _compared(item: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    return _models_own(name, kind, None)


# SQLite cannot reflect an index on an expression, so alembic skips comparing those there; the
# PostgreSQL run compares them.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_models(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_name": _models_own, "include_object": _compared}
        )
        with warnings.catch_warnings():
            # users and customers point at each other; only the order of creating them cares.
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            differences = compare_metadata(context, model_registry.metadata)
    assert differences == []
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        built = {index["name"] for table in inspector.get_table_names() for index in inspector.get_indexes(table)}
    assert built >= EXPRESSION_INDEXES


@pytest.mark.parametrize("kind", databases.KINDS)
def test_tickets_learn_when_they_entered_their_status(kind: str, tmp_path: Path) -> None:
    """The migration that keeps ``status_changed_at`` fills it from the history the rules read before."""
    created, changed, assigned = "2026-03-01 09:00:00", "2026-03-02 10:00:00", "2026-03-03 11:00:00"
    with databases.at_revision(databases.blank_url(kind, tmp_path), "5d2f8b1c3e60") as (connection, migrate_on):
        connection.execute(
            sa.text(
                "INSERT INTO customers (id, name, attributes, created_at, updated_at) VALUES (1, 'A', '{}', :t, :t)"
            ),
            {"t": created},
        )
        for n, status in [(1, "new"), (2, "pending")]:
            connection.execute(
                sa.text(
                    "INSERT INTO tickets (id, number, subject, status, priority, channel, customer_id,"
                    " customer_plan, custom_fields, created_at, updated_at, last_activity_at)"
                    " VALUES (:n, :n, 's', :s, 'normal', 'email', 1, 'free', '{}', :t, :t, :t)"
                ),
                {"n": n, "s": status, "t": created},
            )
        # Ticket 1 never changed status; ticket 2 did, then was assigned (which is no change of status).
        for event_kind, at in [("status_changed", created), ("status_changed", changed), ("assigned", assigned)]:
            connection.execute(
                sa.text(
                    "INSERT INTO ticket_events (ticket_id, kind, actor_type, occurred_at, recorded_at, data)"
                    " VALUES (2, :k, 'system', :at, :at, '{}')"
                ),
                {"k": event_kind, "at": at},
            )
        migrate_on()
        since = {row[0]: row[1] for row in connection.execute(sa.text("SELECT id, status_changed_at FROM tickets"))}
    # Raw rows, not through the models: SQLite gives the stored text, PostgreSQL a datetime.
    assert {ticket_id: str(at)[:19] for ticket_id, at in since.items()} == {1: created, 2: changed}
