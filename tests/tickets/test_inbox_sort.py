"""Every inbox sort pages through every ticket exactly once, in order, ties on the sort key included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from okno.clock import FrozenClock
from okno.db import Database
from okno.errors import Invalid
from okno.tickets import queries, service
from okno.tickets.models import PRIORITY_RANK, Priority, Ticket
from okno.tickets.schemas import MessageCreate
from tests import databases
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, reply

FAR = datetime(9999, 1, 1, tzinfo=UTC)


def _scene(db: Database, people: Personas, clock: FrozenClock) -> list[int]:
    """Fourteen tickets; the frozen clock makes pairs share timestamps, priorities repeat."""
    priorities = list(Priority)
    ids = []
    for n in range(14):
        if n % 3 == 0:
            clock.advance(timedelta(minutes=7))
        ids.append(
            make_ticket(
                db,
                people.agent.actor,
                subject=f"Ticket {n}",
                team_id=people.team_a,
                priority=priorities[n % len(priorities)].value,
            )
        )
    clock.advance(timedelta(minutes=3))
    for ticket_id in ids[::4]:  # answered: nobody waits on these
        reply(db, people.agent.actor, ticket_id)
    clock.advance(timedelta(minutes=3))
    for ticket_id in ids[1::5]:  # answered, then the customer wrote again
        reply(db, people.agent.actor, ticket_id)
        clock.advance(timedelta(minutes=1))
        with db.write() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            service.receive_customer_message(
                session,
                people.customer.actor,
                ticket,
                message=MessageCreate(body="Any news?"),
                channel=ticket.channel,  # type: ignore[arg-type]
            )
    return ids


def _expected(tickets: list[Ticket], key: str, descending: bool) -> list[int]:
    def sort_value(t: Ticket) -> tuple[Any, ...]:
        if key == "priority":
            return (t.priority_rank, t.last_activity_at, t.id)
        if key == "waiting_since":
            return (t.waiting_since or FAR, t.id)
        return (getattr(t, key), t.id)

    ordered = sorted(tickets, key=sort_value, reverse=descending)
    if key == "waiting_since":  # tickets nobody waits on come last in both directions
        ordered = [t for t in ordered if t.waiting_since is not None] + sorted(
            (t for t in ordered if t.waiting_since is None), key=lambda t: t.id, reverse=descending
        )
    return [t.id for t in ordered]


@pytest.mark.parametrize(
    "sort",
    [
        "-last_activity_at",
        "-priority",
        "waiting_since",
        "-created_at",
        "priority",
        "-waiting_since",
        "created_at",
        "number",
        "-updated_at",
    ],
)
def test_every_sort_walks_every_ticket_once(db: Database, people: Personas, clock: FrozenClock, sort: str) -> None:
    ids = _scene(db, people, clock)
    key, descending = queries.parse_sort(sort)
    with db.read() as session:
        tickets = list(session.scalars(sa.select(Ticket).where(Ticket.id.in_(ids))))
        assert len({t.waiting_since for t in tickets}) > 2 and any(t.waiting_since is None for t in tickets)
        filters = queries.TicketFilters(team_id=[people.team_a])
        seen: list[int] = []
        cursor = None
        for _page in range(20):
            rows, cursor = queries.list_tickets(session, people.agent.actor, filters, sort=sort, limit=3, cursor=cursor)
            seen += [t.id for t in rows]
            if cursor is None:
                break
    assert seen == _expected(tickets, key, descending)
    assert sorted(seen) == sorted(ids)


def test_waiting_since_follows_the_conversation(db: Database, people: Personas, clock: FrozenClock) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    opened = clock.now()
    clock.advance(timedelta(minutes=5))
    with db.write() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.waiting_since == opened
        service.receive_customer_message(
            session,
            people.customer.actor,
            ticket,
            message=MessageCreate(body="Hello?"),
            channel=ticket.channel,  # type: ignore[arg-type]
        )
        assert ticket.waiting_since == opened  # still waiting since the first unanswered message
    reply(db, people.agent.actor, ticket_id, "Here you go.", kind="note")
    with db.read() as session:
        assert session.get(Ticket, ticket_id).waiting_since == opened  # type: ignore[union-attr]
    reply(db, people.agent.actor, ticket_id)
    with db.read() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None and row.waiting_since is None
        assert row.priority_rank == PRIORITY_RANK[Priority.normal]


def test_a_cursor_of_another_sort_is_refused(db: Database, people: Personas, clock: FrozenClock) -> None:
    _scene(db, people, clock)
    with db.read() as session:
        _rows, cursor = queries.list_tickets(
            session, people.agent.actor, queries.TicketFilters(), sort="-priority", limit=2
        )
        assert cursor is not None
        with pytest.raises(Invalid):
            queries.list_tickets(
                session, people.agent.actor, queries.TicketFilters(), sort="waiting_since", cursor=cursor
            )
        with pytest.raises(Invalid):
            queries.list_tickets(session, people.agent.actor, queries.TicketFilters(), sort="-priority", cursor="e30")


def test_the_migration_backfills_rank_and_waiting_time(tmp_path: Path) -> None:
    with databases.at_revision(f"sqlite:///{tmp_path / 'old.db'}", "e7ea77dd4922") as (connection, migrate_on):
        connection.execute(
            sa.text(
                "INSERT INTO customers (id, name, attributes, created_at, updated_at) VALUES (1, 'A', '{}', :t, :t)"
            ),
            {"t": "2026-03-01 09:00:00.000000"},
        )
        for n, priority in [(1, "urgent"), (2, "low"), (3, "normal")]:
            connection.execute(
                sa.text(
                    "INSERT INTO tickets (id, number, subject, status, priority, channel, customer_id, customer_plan,"
                    " custom_fields, created_at, updated_at, last_activity_at)"
                    " VALUES (:n, :n, 's', 'open', :p, 'email', 1, 'free', '{}', :t, :t, :t)"
                ),
                {"n": n, "p": priority, "t": "2026-03-01 09:00:00.000000"},
            )
        # 1: asked twice, never answered; 2: asked, answered; 3: asked, answered, asked again.
        messages = [
            (1, "inbound", "09:00"),
            (1, "inbound", "09:05"),
            (2, "inbound", "09:00"),
            (2, "reply", "09:10"),
            (3, "inbound", "09:00"),
            (3, "reply", "09:10"),
            (3, "inbound", "09:20"),
            (3, "note", "09:30"),
        ]
        for ticket_id, kind, at in messages:
            connection.execute(
                sa.text(
                    "INSERT INTO messages (ticket_id, kind, channel, body_text, body_html, created_at)"
                    " VALUES (:t, :k, 'email', 'x', 'x', :at)"
                ),
                {"t": ticket_id, "k": kind, "at": f"2026-03-01 {at}:00.000000"},
            )
        migrate_on()
        rows = connection.execute(sa.text("SELECT id, priority_rank, waiting_since FROM tickets ORDER BY id")).all()
    assert [(r[0], r[1], r[2] and str(r[2])[11:16]) for r in rows] == [(1, 3, "09:00"), (2, 0, None), (3, 1, "09:20")]
