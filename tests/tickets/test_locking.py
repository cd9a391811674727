"""A batch of tickets locked in one query: each is then written without reading it again, until the locks go."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.db import Database
from okno.tickets import access
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket

SYSTEM = Actor.system("test")


def test_a_locked_batch_is_written_without_reading_each_ticket_again(db: Database, people: Personas) -> None:
    plain = make_ticket(db, people.agent.actor)
    tagged = make_ticket(db, people.agent.actor, tags=["vip"])
    copied = make_ticket(db, people.agent.actor, cc=["boss@customer.example.org"])
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    with db.write() as session:
        assert access.lock_available(session, [plain, tagged, copied]) == {plain, tagged, copied}
        connection = session.connection()
        sa.event.listen(connection, "before_cursor_execute", count)
        try:
            found = {ticket_id: access.writable(session, SYSTEM, ticket_id) for ticket_id in (plain, tagged, copied)}
            assert selects == []
            assert [tag.name for tag in found[tagged].tags] == ["vip"]
            assert [p.role for p in found[copied].participants] == ["cc"]
            assert found[plain].tags == [] and found[plain].participants == []

            with session.begin_nested() as savepoint:
                savepoint.rollback()  # releases the locks taken since it began: asked for again, not assumed
            access.writable(session, SYSTEM, plain)
            assert len(selects) >= 1
        finally:
            sa.event.remove(connection, "before_cursor_execute", count)
