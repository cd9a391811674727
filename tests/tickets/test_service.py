from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from okno.accounts import service as accounts_service
from okno.accounts.schemas import UserUpdate
from okno.clock import FrozenClock
from okno.db import Database
from okno.errors import Conflict
from okno.tickets import access, changes, queries, service
from okno.tickets.models import Message, Ticket, TicketEvent, TicketStatus
from okno.tickets.schemas import MessageCreate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, reply, update


def kinds(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            )
        )


def ticket(db: Database, ticket_id: int) -> Ticket:
    with db.read() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        return row


def test_created_ticket_has_number_message_and_event(db: Database, people: Personas) -> None:
    first = make_ticket(db, people.agent.actor)
    second = make_ticket(db, people.agent.actor)
    assert ticket(db, second).number == ticket(db, first).number + 1
    assert kinds(db, first) == ["created"]
    with db.read() as session:
        event = session.scalars(sa.select(TicketEvent).where(TicketEvent.ticket_id == first)).one()
        assert event.actor_type == "user" and event.actor_id == people.agent.user_id
        assert event.occurred_at == event.recorded_at and event.occurred_at.tzinfo is not None
        # Payloads hold ids and codes, never the customer's address or words.
        assert "walk-in" not in str(event.data).lower()


def test_agent_reply_opens_a_new_ticket_and_solving_sets_solved_at(
    db: Database, people: Personas, clock: FrozenClock
) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    clock.advance(timedelta(minutes=5))
    reply(db, people.agent.actor, ticket_id)
    assert ticket(db, ticket_id).status == TicketStatus.open
    update(db, people.agent.actor, ticket_id, status="solved")
    solved = ticket(db, ticket_id)
    assert solved.status == TicketStatus.solved and solved.solved_at == clock.now()
    assert kinds(db, ticket_id) == ["created", "reply_sent", "status_changed", "status_changed"]


def test_a_ticket_knows_since_when_it_is_in_its_status(db: Database, people: Personas, clock: FrozenClock) -> None:
    created = clock.now()
    ticket_id = make_ticket(db, people.agent.actor)
    assert ticket(db, ticket_id).status_changed_at == created
    clock.advance(timedelta(minutes=5))
    update(db, people.agent.actor, ticket_id, status="pending")
    pending_since = clock.now()
    clock.advance(timedelta(minutes=5))
    update(db, people.agent.actor, ticket_id, priority="high")  # no change of status
    assert ticket(db, ticket_id).status_changed_at == pending_since
    with db.read() as session:
        last_change = session.scalar(
            sa.select(sa.func.max(TicketEvent.occurred_at)).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "status_changed"
            )
        )
    assert last_change == pending_since


def test_customer_reply_reopens_a_solved_ticket(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    reply(db, people.agent.actor, ticket_id, status="solved")
    reply(db, people.customer.actor, ticket_id, body="Still broken")
    reopened = ticket(db, ticket_id)
    assert reopened.status == TicketStatus.open and reopened.solved_at is None
    assert kinds(db, ticket_id)[-3:] == ["message_received", "reopened", "status_changed"]


def test_customer_reply_to_closed_ticket_opens_a_linked_follow_up(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    reply(db, people.agent.actor, ticket_id, status="solved")
    update(db, people.agent.actor, ticket_id, status="closed")
    follow_up_id = reply(db, people.customer.actor, ticket_id, body="One more question")
    assert follow_up_id != ticket_id
    follow_up = ticket(db, follow_up_id)
    assert follow_up.follow_up_of_id == ticket_id and follow_up.status == TicketStatus.new
    assert follow_up.customer_id == people.customer.customer_id
    assert ticket(db, ticket_id).status == TicketStatus.closed
    assert kinds(db, ticket_id)[-1] == "follow_up_created"


def test_closed_is_final(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    reply(db, people.agent.actor, ticket_id, status="solved")
    update(db, people.agent.actor, ticket_id, status="closed")
    with pytest.raises(Conflict) as error:
        update(db, people.agent.actor, ticket_id, status="open")
    assert error.value.code == "invalid_transition"


def test_merge_moves_messages_and_history(db: Database, people: Personas) -> None:
    source = make_ticket(db, people.customer.actor, subject="First")
    target = make_ticket(db, people.customer.actor, subject="Second")
    update(db, people.agent.actor, source, add_tags=["refund"])
    with db.write() as session:
        changes.merge(session, people.agent.actor, source, target_id=target, confirm_different_customers=False)
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Message.ticket_id == target)) == 2
        merged = session.get(Ticket, source)
        assert merged is not None and merged.merged_into_id == target and merged.status == TicketStatus.closed
        target_row = access.get_ticket(session, people.agent.actor, target)
        assert [t.name for t in target_row.tags] == ["refund"]
        history = queries.list_events(session, people.agent.actor, target_row, after_id=None, limit=100)
        assert {e.ticket_id for e in history} == {source, target}
    with pytest.raises(Conflict):
        reply(db, people.agent.actor, source)  # a merged ticket points at its target


def test_merging_different_customers_needs_confirmation(db: Database, people: Personas) -> None:
    mine = make_ticket(db, people.customer.actor)
    theirs = make_ticket(db, people.other_customer.actor)
    with db.write() as session, pytest.raises(Conflict) as error:
        changes.merge(session, people.agent.actor, mine, target_id=theirs, confirm_different_customers=False)
    assert error.value.code == "different_customers"
    with db.write() as session:
        changes.merge(session, people.agent.actor, mine, target_id=theirs, confirm_different_customers=True)
    with db.read() as session:
        target = access.get_ticket(session, people.admin.actor, theirs)
        assert people.customer.customer_id in [p.customer_id for p in target.participants]


def test_deactivating_an_agent_hands_open_tickets_back_to_the_team(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.colleague.user_id)
    with db.write() as session:
        accounts_service.update_user(
            session, people.admin.actor, people.colleague.user_id, changes=UserUpdate(is_active=False)
        )
    after = ticket(db, ticket_id)
    assert after.assignee_id is None and after.team_id == people.team_a
    with db.read() as session:
        event = session.scalars(
            sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "assigned")
        ).all()[-1]
        assert event.data == {"old": people.colleague.user_id, "new": None, "reason": "assignee_deactivated"}


def test_changing_team_drops_an_assignee_who_is_not_on_it(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
    update(db, people.admin.actor, ticket_id, team_id=people.team_b)
    after = ticket(db, ticket_id)
    assert after.team_id == people.team_b and after.assignee_id is None


def test_light_agent_writes_notes_only(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    reply(db, people.light_agent.actor, ticket_id, body="FYI", kind="note")
    with db.write() as session, pytest.raises(Exception, match="role"):
        service.add_message(session, people.light_agent.actor, ticket_id, data=MessageCreate(body="Hi"))
