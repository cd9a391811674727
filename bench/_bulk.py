"""Shared by the benchmarks: fresh databases and bulk-loading a large help desk straight into the tables.

Loading goes around the application on purpose (a million tickets through the API would take an
hour): on PostgreSQL set-based ``INSERT … SELECT`` from ``generate_series`` (no rows travel from
Python at all), on SQLite ``executemany`` in big batches. The rows are shaped like the ones the
application writes: each ticket's conversation is a copy of a *template* ticket that the benchmark
first builds through the real API, so messages and events carry exactly what the services record.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

BULK_NUMBER_BASE = 5_000_000  # ticket numbers of bulk-loaded tickets start above this
SPREAD_SECONDS = 7_776_000  # tickets were opened over the last 90 days
TICKETS_PER_CUSTOMER = 4
# The template's conversation took about a second through the API; copies are stretched out
# (a millisecond there becomes a second here) so their order holds and the times look like a day's work.
STRETCH = 1000
STATUSES = ["new", "open", "pending", "solved", "closed"]
BATCH = 20_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@contextmanager
def fresh_database(kind: str, postgres_url: str, directory: Path) -> Iterator[str]:
    """A new empty database (a file on SQLite, a database of its own on PostgreSQL), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    name = f"okno_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.engine.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_help_desk(
    url: str, count: int, *, team_ids: list[int], assignee_ids: list[int], template_ticket_id: int
) -> dict[str, Any]:
    """Bulk-loads ``count`` tickets, one customer per four tickets, each ticket with a copy of the
    template ticket's conversation (messages, notes, events). Returns what was loaded and how long it took."""
    started = time.perf_counter()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                _load_postgres(conn, count, team_ids, assignee_ids, template_ticket_id)
            else:
                _load_sqlite(conn, count, team_ids, assignee_ids, template_ticket_id)
        loaded = {
            table: int(_scalar(engine, f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)
            for table in ("tickets", "customers", "messages", "ticket_events")
        }
        analysed = time.perf_counter()
        if engine.dialect.name == "postgresql":
            # As autovacuum would have long done on a live system: statistics, and the visibility map
            # that lets PostgreSQL answer from an index alone.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()
    return {
        "loaded": loaded,
        "load_s": round(analysed - started, 1),
        "analyse_s": round(time.perf_counter() - analysed, 1),
    }


def _scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _copied_columns(conn: sa.Connection, table: str) -> list[str]:
    """Every column of the table but its id: whatever the schema holds today is copied along."""
    return [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] != "id"]


# --- PostgreSQL: everything set-based, inside the server ----------------------------------------


def _load_postgres(
    conn: sa.Connection, count: int, team_ids: list[int], assignee_ids: list[int], template: int
) -> None:
    superuser = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    if superuser:
        # Our own consistent rows: foreign-key triggers would only triple the load time.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
    # Building an index once over all rows is several times faster than growing it row by row.
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    deferred = conn.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN ('tickets', 'messages', 'ticket_events') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    ).all()
    for name, _definition in deferred:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    _insert_postgres(conn, count, team_ids, assignee_ids, template)
    for _name, definition in deferred:
        conn.execute(sa.text(definition))


def _insert_postgres(
    conn: sa.Connection, count: int, team_ids: list[int], assignee_ids: list[int], template: int
) -> None:
    customers = max(1, count // TICKETS_PER_CUSTOMER)
    base = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM customers")).scalar()
    conn.execute(
        sa.text(
            """
            INSERT INTO customers (name, plan, attributes, created_at, updated_at)
            SELECT 'Customer ' || g, NULL, '{}', now() - interval '120 days', now() - interval '120 days'
            FROM generate_series(1, :customers) AS g ORDER BY g
            """
        ),
        {"customers": customers},
    )
    first = conn.execute(sa.text("SELECT min(id) FROM customers WHERE id > :base"), {"base": base}).scalar()
    conn.execute(
        sa.text(
            """
            INSERT INTO customer_identities (customer_id, kind, value, created_at)
            SELECT id, 'email', 'customer' || id || '@bulk.example.com', created_at FROM customers WHERE id >= :first
            """
        ),
        {"first": first},
    )
    conn.execute(
        sa.text(
            """
            INSERT INTO tickets (number, subject, status, priority, channel, team_id, assignee_id, customer_id,
                customer_plan, custom_fields, created_at, status_changed_at, updated_at, last_activity_at)
            SELECT :base_number + g, 'Order ' || g || ' has not arrived', (CAST(:statuses AS text[]))[1 + g % 5],
                (ARRAY['normal','normal','normal','high','low'])[1 + (g / 5) % 5], 'email',
                (CAST(:teams AS bigint[]))[1 + g % cardinality(CAST(:teams AS bigint[]))],
                CASE WHEN g % 3 = 0 THEN NULL
                    ELSE (CAST(:assignees AS bigint[]))[1 + (g / 3) % cardinality(CAST(:assignees AS bigint[]))] END,
                :first + (g - 1) / :per_customer, 'free', '{}'::jsonb,
                now() - (g % :spread) * interval '1 second', now() - (g % :spread) * interval '1 second',
                now() - (g % :spread) * interval '1 second',
                now() - ((g::bigint * 7919) % :spread) * interval '1 second'
            FROM generate_series(1, :count) AS g ORDER BY g
            """
        ),
        {
            "base_number": BULK_NUMBER_BASE,
            "statuses": STATUSES,
            "teams": team_ids,
            "assignees": assignee_ids,
            "first": first,
            "per_customer": TICKETS_PER_CUSTOMER,
            "spread": SPREAD_SECONDS,
            "count": count,
        },
    )
    conn.execute(sa.text("SELECT setval('ticket_number_seq', :v)"), {"v": BULK_NUMBER_BASE + count + 1})
    for table, at_columns in (("messages", ["created_at"]), ("ticket_events", ["occurred_at", "recorded_at"])):
        columns = _copied_columns(conn, table)
        # Table and column names come from the fixed tuple above and the schema itself, never from input.
        earliest = f"SELECT min({at_columns[0]}) FROM {table} WHERE ticket_id = :t"  # noqa: S608
        start = conn.execute(sa.text(earliest), {"t": template}).scalar()

        def expression(column: str, at_columns: list[str] = at_columns) -> str:
            if column == "ticket_id":
                return "t.id"
            if column == "author_customer_id":
                return "CASE WHEN m.author_customer_id IS NULL THEN NULL ELSE t.customer_id END"
            if column in at_columns:
                return f"t.created_at + (m.{column} - CAST(:start AS timestamptz)) * {STRETCH}"
            return f"m.{column}"

        conn.execute(
            sa.text(
                f"""
                INSERT INTO {table} ({", ".join(columns)})
                SELECT {", ".join(expression(c) for c in columns)}
                FROM tickets AS t CROSS JOIN (SELECT * FROM {table} WHERE ticket_id = :template) AS m
                WHERE t.number > :base_number
                ORDER BY t.id, m.id
                """  # noqa: S608
            ),
            {"template": template, "base_number": BULK_NUMBER_BASE, "start": start},
        )


# --- SQLite: rows built in Python, inserted in big batches ---------------------------------------


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _parse_sqlite_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _load_sqlite(conn: sa.Connection, count: int, team_ids: list[int], assignee_ids: list[int], template: int) -> None:
    now = datetime.now(UTC)
    customers = max(1, count // TICKETS_PER_CUSTOMER)
    base = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM customers")).scalar() or 0
    joined = _sqlite_time(now - timedelta(days=120))
    for offset in range(0, customers, BATCH):
        rows = [{"name": f"Customer {g}", "at": joined} for g in range(offset + 1, min(offset + BATCH, customers) + 1)]
        conn.execute(
            sa.text(
                "INSERT INTO customers (name, plan, attributes, created_at, updated_at) "
                "VALUES (:name, NULL, '{}', :at, :at)"
            ),
            rows,
        )
    first = conn.execute(sa.text("SELECT min(id) FROM customers WHERE id > :base"), {"base": base}).scalar()
    conn.execute(
        sa.text(
            "INSERT INTO customer_identities (customer_id, kind, value, created_at) "
            "SELECT id, 'email', 'customer' || id || '@bulk.example.com', created_at FROM customers WHERE id >= :first"
        ),
        {"first": first},
    )
    priorities = ["normal", "normal", "normal", "high", "low"]
    for offset in range(0, count, BATCH):
        rows = []
        for g in range(offset + 1, min(offset + BATCH, count) + 1):
            at = _sqlite_time(now - timedelta(seconds=g % SPREAD_SECONDS))
            rows.append(
                {
                    "number": BULK_NUMBER_BASE + g,
                    "subject": f"Order {g} has not arrived",
                    "status": STATUSES[g % 5],
                    "priority": priorities[(g // 5) % 5],
                    "team": team_ids[g % len(team_ids)],
                    "assignee": None if g % 3 == 0 else assignee_ids[(g // 3) % len(assignee_ids)],
                    "customer": first + (g - 1) // TICKETS_PER_CUSTOMER,
                    "at": at,
                    "active": _sqlite_time(now - timedelta(seconds=(g * 7919) % SPREAD_SECONDS)),
                }
            )
        conn.execute(
            sa.text(
                "INSERT INTO tickets (number, subject, status, priority, channel, team_id, assignee_id, customer_id, "
                "customer_plan, custom_fields, created_at, status_changed_at, updated_at, last_activity_at) VALUES "
                "(:number, :subject, :status, :priority, 'email', :team, :assignee, :customer, 'free', '{}', "
                ":at, :at, :at, :active)"
            ),
            rows,
        )
    conn.execute(
        sa.text("UPDATE okno_sequences SET value = :v WHERE name = 'ticket_number_seq'"),
        {"v": BULK_NUMBER_BASE + count + 1},
    )
    tickets = conn.execute(
        sa.text("SELECT id, customer_id, created_at FROM tickets WHERE number > :base ORDER BY id"),
        {"base": BULK_NUMBER_BASE},
    ).all()
    for table, at_columns in (("messages", ["created_at"]), ("ticket_events", ["occurred_at", "recorded_at"])):
        columns = _copied_columns(conn, table)
        originals = [
            dict(row._mapping)
            for row in conn.execute(
                sa.text(f"SELECT {', '.join(columns)} FROM {table} WHERE ticket_id = :t ORDER BY id"),  # noqa: S608
                {"t": template},
            )
        ]
        start = min(_parse_sqlite_time(o[at_columns[0]]) for o in originals)
        offsets = [{c: (_parse_sqlite_time(o[c]) - start) * STRETCH for c in at_columns} for o in originals]
        statement = sa.text(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"  # noqa: S608
        )
        rows = []
        for ticket_id, customer_id, created_at in tickets:
            opened = _parse_sqlite_time(created_at)
            for original, offset in zip(originals, offsets, strict=True):
                row = {**original, "ticket_id": ticket_id}
                if row.get("author_customer_id") is not None:
                    row["author_customer_id"] = customer_id
                for column in at_columns:
                    row[column] = _sqlite_time(opened + offset[column])
                rows.append(row)
            if len(rows) >= BATCH * 5:
                conn.execute(statement, rows)
                rows = []
        if rows:
            conn.execute(statement, rows)
