"""Read marks: each side reads the other's messages, once, and both are told."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from okno.db import Database
from okno.errors import NotFound
from okno.realtime import Envelope, Subscriber
from okno.runtime import Runtime
from okno.tickets import reading, service
from okno.tickets.models import Message
from okno.tickets.schemas import MessageCreate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, reply


def drain(subscriber: Subscriber) -> list[Envelope]:
    items = []
    while not subscriber.queue.empty():
        items.append(subscriber.queue.get_nowait())
    return items


def messages(db: Database, ticket_id: int) -> list[Message]:
    with db.read() as session:
        return list(session.scalars(sa.select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def test_agents_read_the_customers_messages_and_customers_the_replies(
    db: Database, runtime: Runtime, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.customer.actor, subject="Chat", channel="chat")
    reply(db, people.agent.actor, ticket_id, body="Hello Anna")
    with db.write() as session:
        service.add_message(session, people.agent.actor, ticket_id, data=MessageCreate(kind="note", body="internal"))
    first, answer, note = messages(db, ticket_id)
    customer_feed, colleague_feed = (
        runtime.bus.subscribe(people.customer.actor),
        runtime.bus.subscribe(people.colleague.actor),
    )
    with db.write() as session:
        assert reading.mark_read(session, people.agent.actor, ticket_id, up_to_message_id=note.id) == [first.id]
        assert reading.mark_read(session, people.customer.actor, ticket_id, up_to_message_id=note.id) == [answer.id]
    with db.write() as session:  # read once: a second look changes nothing and says nothing
        assert reading.mark_read(session, people.colleague.actor, ticket_id, up_to_message_id=note.id) == []
    read = {m.id: m.read_at for m in messages(db, ticket_id)}
    assert read[first.id] is not None and read[answer.id] is not None and read[note.id] is None
    told = [(e.kind, e.data["by"], e.data["message_ids"]) for e in drain(customer_feed)]
    assert told == [("messages_read", "agent", [first.id]), ("messages_read", "customer", [answer.id])]
    assert len(drain(colleague_feed)) == 2
    with pytest.raises(NotFound), db.write() as session:
        reading.mark_read(session, people.other_customer.actor, ticket_id, up_to_message_id=answer.id)
