"""Mentions in internal notes notify colleagues, in the note's own transaction, and only those who may see it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.db import Database
from okno.errors import Invalid, NotFound
from okno.notifications import queries, service
from okno.notifications.models import Notification
from okno.tickets import access, changes, mentions
from okno.tickets import queries as tickets_queries
from okno.tickets import service as tickets_service
from okno.tickets.models import Message, MessageKind, TicketEvent
from okno.tickets.schemas import MessageCreate, TicketUpdate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket


def note(body: str, *ids: int) -> MessageCreate:
    return MessageCreate(body=body, kind=MessageKind.note, mentioned_user_ids=list(ids))


def notifications(db: Database) -> list[Notification]:
    with db.read() as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


def notes(db: Database, ticket_id: int) -> int:
    with db.read() as session:
        query = sa.select(sa.func.count()).where(Message.ticket_id == ticket_id, Message.kind == MessageKind.note)
        return session.scalar(query) or 0


def test_a_note_mentioning_two_agents_notifies_both_in_its_transaction(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with db.write() as session:
        posted = tickets_service.add_message(
            session,
            people.agent.actor,
            ticket_id,
            data=note("@Colleague @Admin look", people.colleague.user_id, people.admin.user_id),
        )
        # Written with the note, before anything commits.
        pending = list(session.scalars(sa.select(Notification).where(Notification.message_id == posted.message.id)))
        assert sorted(n.user_id for n in pending) == sorted([people.colleague.user_id, people.admin.user_id])
        event = session.scalars(
            sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "note_added")
        ).one()
        assert event.data["mentioned_user_ids"] == [people.colleague.user_id, people.admin.user_id]
    rows = notifications(db)
    assert [(n.kind, n.ticket_id, n.actor_user_id, n.read_at) for n in rows] == [
        ("mention", ticket_id, people.agent.user_id, None)
    ] * 2
    with db.read() as session:
        assert queries.unread_count(session, people.colleague.user_id) == 1
        assert queries.unread_count(session, people.agent.user_id) == 0


def test_rollback_leaves_neither_note_nor_notification(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with pytest.raises(RuntimeError), db.write() as session:
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=note("hi", people.colleague.user_id))
        raise RuntimeError("the request failed after the note")
    assert notifications(db) == [] and notes(db, ticket_id) == 0


def test_unknown_inactive_and_customer_users_cannot_be_mentioned(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with db.write() as session:
        accounts_service.deactivate_user(session, Actor.system("tests"), people.light_agent.user_id)
    for user_id in (987_654, people.customer.user_id, people.light_agent.user_id):
        with pytest.raises(Invalid) as refused, db.write() as session:
            tickets_service.add_message(session, people.agent.actor, ticket_id, data=note("x", user_id))
        assert refused.value.code == "unknown_mention"
        assert refused.value.details[0]["user_ids"] == [user_id]
    with pytest.raises(Invalid), db.write() as session:
        data = MessageCreate(body="@Colleague in public", mentioned_user_ids=[people.colleague.user_id])
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=data)
    assert notifications(db) == [] and notes(db, ticket_id) == 0


def test_a_colleague_who_may_not_see_the_ticket_is_refused_not_notified(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with pytest.raises(Invalid) as refused, db.write() as session:
        data = note("@Billing see this", people.colleague.user_id, people.other_agent.user_id)
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=data)
    assert refused.value.code == "mention_not_allowed" and "Billing cannot open this ticket" in refused.value.message
    assert refused.value.details[0]["user_ids"] == [people.other_agent.user_id]
    assert notifications(db) == [] and notes(db, ticket_id) == 0  # nobody half-notified
    with db.read() as session:
        ticket = access.get_ticket(session, people.agent.actor, ticket_id)
        suggested = mentions.candidates(session, people.agent.actor, ticket, "")
    assert people.other_agent.user_id not in {user_id for user_id, _name in suggested}
    assert people.agent.user_id not in {user_id for user_id, _name in suggested}  # not oneself
    assert people.colleague.user_id in {user_id for user_id, _name in suggested}
    # Once the ticket is theirs to see, the same mention goes through.
    with db.write() as session:
        changes.update_ticket(
            session,
            people.agent.actor,
            ticket_id,
            changes=TicketUpdate(team_id=people.team_b),
        )
        tickets_service.add_message(
            session, people.agent.actor, ticket_id, data=note("now", people.other_agent.user_id)
        )
    assert [n.user_id for n in notifications(db)] == [people.other_agent.user_id]


def test_suggestions_match_any_word_of_a_name(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    with db.read() as session:
        ticket = access.get_ticket(session, people.agent.actor, ticket_id)
        assert [name for _id, name in mentions.candidates(session, people.agent.actor, ticket, "COLL")] == ["Colleague"]
        assert mentions.candidates(session, people.agent.actor, ticket, "nobody-like-this") == []


def test_opening_marks_read_and_only_for_its_owner(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with db.write() as session:
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=note("a", people.colleague.user_id))
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=note("b", people.colleague.user_id))
        tickets_service.add_message(session, people.agent.actor, ticket_id, data=note("me", people.agent.user_id))
    first, second = notifications(db)
    with pytest.raises(NotFound), db.write() as session:
        service.open_notification(session, people.agent.actor, first.id)
    with db.write() as session:
        opened = service.open_notification(session, people.colleague.actor, first.id)
        assert opened.read_at is not None
        assert queries.unread_count(session, people.colleague.user_id) == 1
        assert [n.id for n in service.list_for(session, people.colleague.actor)] == [second.id, first.id]
        assert service.mark_all_read(session, people.colleague.actor) == 1
        assert queries.unread_count(session, people.colleague.user_id) == 0


def test_a_notification_follows_its_note_into_a_merged_ticket(db: Database, people: Personas) -> None:
    source_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    target_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    with db.write() as session:
        posted = tickets_service.add_message(
            session, people.agent.actor, source_id, data=note("look", people.colleague.user_id)
        )
        changes.merge(session, people.agent.actor, source_id, target_id=target_id, confirm_different_customers=False)
    with db.read() as session:
        assert tickets_queries.message_ticket_id(session, people.colleague.actor, posted.message.id) == target_id
        assert tickets_queries.message_ticket_id(session, people.other_agent.actor, posted.message.id) is None
