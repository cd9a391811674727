"""A chat conversation's life: taken offline, delivered by email when unread, closed when idle (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.channels.chat import delivery, idle, mail
from okno.channels.chat.models import ChatConversation
from okno.clock import FrozenClock
from okno.db import Database
from okno.jobs.models import Job
from okno.runtime import Runtime
from okno.tickets.models import Message, MessageKind, Ticket
from tests import databases
from tests.factories.chat import (
    SHOP,
    connect,
    fresh_database,
    go_online,
    make_widget,
    new_visitor,
    receive,
    receive_until,
    start,
)
from tests.factories.personas import Personas
from tests.factories.tickets import reply


@pytest.fixture
def db(idle_template: databases.Template, tmp_path: Path, clock: FrozenClock) -> Iterator[Database]:
    yield from fresh_database(idle_template, tmp_path, clock)


def reply_status(db: Database, ticket_id: int) -> str | None:
    with db.read() as session:
        return session.scalars(
            sa.select(Message.delivery_status)
            .where(Message.ticket_id == ticket_id, Message.kind == MessageKind.reply)
            .order_by(Message.id.desc())
        ).first()


def jobs_named(db: Database, name: str) -> list[Job]:
    with db.read() as session:
        return list(session.scalars(sa.select(Job).where(Job.name == name).order_by(Job.id)))


def test_without_anyone_online_the_chat_is_taken_with_an_address(
    client: TestClient, db: Database, runtime: Runtime, people: Personas
) -> None:
    widget = make_widget(db, people)
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        refused = start(socket, "Can I return a lamp after 30 days?")
        assert (refused["type"], refused["code"], refused["field"]) == ("error", "email_required", "email")
        taken = start(socket, "Can I return a lamp after 30 days?", name="Ion", email="ion@customer.example")
        assert taken["type"] == "started" and taken["offline"] is True
    conversation = taken["conversation_id"]
    with db.read() as session:
        row = session.get(ChatConversation, conversation)
        assert row is not None and row.offline
    reply(db, people.agent.actor, conversation, body="Yes, within 60 days.")
    runtime.worker.run_pending()
    # Answered by email at once (here no mailbox can send, which is not a failure); no waiting for the widget.
    assert reply_status(db, conversation) is None
    assert jobs_named(db, delivery.UNREAD_JOB) == []


def test_an_unread_reply_goes_by_email_later_and_a_read_one_does_not(
    client: TestClient, db: Database, runtime: Runtime, people: Personas, clock: FrozenClock
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        conversation = start(socket, "Hello, do you have gift cards?", email="olga@customer.example")["conversation_id"]
        reply(db, people.agent.actor, conversation, body="We do: from 10 to 500 euros.")
        answer = receive_until(socket, lambda f: f.get("message", {}).get("from") == "agent")[-1]
        runtime.worker.run_pending()
        assert reply_status(db, conversation) == "queued"
        [check] = jobs_named(db, delivery.UNREAD_JOB)
        assert check.run_at == clock.now() + timedelta(seconds=runtime.settings.chat_unread_email_seconds)
        socket.send_json({"type": "read", "conversation_id": conversation, "message_id": answer["message"]["id"]})
        socket.send_json({"type": "message", "conversation_id": conversation, "body": "Great", "ref": "g"})
        receive_until(socket, lambda f: f["type"] == "sent")
    assert reply_status(db, conversation) == "sent"  # read in the widget

    reply(db, people.agent.actor, conversation, body="Anything else?")  # the visitor has gone
    runtime.worker.run_pending()
    clock.advance(timedelta(seconds=runtime.settings.chat_unread_email_seconds + 1))
    runtime.worker.run_pending()
    # Email it was: without a mailbox that can send, nothing more can be done and nothing counts as lost.
    assert reply_status(db, conversation) is None


def test_an_idle_conversation_closes_and_the_widget_is_told(
    client: TestClient, db: Database, runtime: Runtime, people: Personas, clock: FrozenClock
) -> None:
    widget = make_widget(db, people, idle_close_minutes=15)
    go_online(db, people.agent.actor)
    answered, waiting = new_visitor(client, widget), new_visitor(client, widget)
    with connect(client, widget, waiting) as socket:
        receive(socket)
        still_waiting = start(socket, "Hello? Anyone there?")["conversation_id"]
    with connect(client, widget, answered) as socket:
        receive(socket)
        conversation = start(socket, "What are your opening hours?")["conversation_id"]
        reply(db, people.agent.actor, conversation, body="9 to 18, Monday to Friday.")
        receive_until(socket, lambda f: f.get("message", {}).get("from") == "agent")
        clock.advance(timedelta(minutes=14))
        runtime.worker.run_pending()
        with db.write() as session:
            assert idle.close_idle(session, now=clock.now()) == []
        clock.advance(timedelta(minutes=2))
        with db.write() as session:
            assert idle.close_idle(session, now=clock.now()) == [conversation]  # not the one still waiting
        closed = receive_until(socket, lambda f: f["type"] == "closed")[-1]
        assert closed["conversation_id"] == conversation and closed["status"] == "solved"

        asked = client.post(
            f"/widget/{widget.key}/conversations/{conversation}/transcript",
            json={"email": "mila@customer.example", "locale": "ru"},
            headers={"origin": SHOP, "authorization": f"Bearer {answered}"},
        )
        assert asked.status_code == 202 and asked.json() == {"email": "mila@customer.example"}
        [job] = jobs_named(db, mail.TRANSCRIPT_JOB)
        assert job.payload["ticket_id"] == conversation and job.payload["locale"] == "ru"
        others = client.post(
            f"/widget/{widget.key}/conversations/{still_waiting}/transcript",
            json={"email": "mila@customer.example"},
            headers={"origin": SHOP, "authorization": f"Bearer {answered}"},
        )
        assert others.status_code == 422  # another visitor's conversation

        socket.send_json({"type": "message", "conversation_id": conversation, "body": "And on Saturday?", "ref": "s"})
        reopened = receive_until(socket, lambda f: f["type"] == "reopened")[-1]
        assert reopened["conversation_id"] == conversation
    with db.read() as session:
        ticket = session.get(Ticket, conversation)
        row = session.get(ChatConversation, conversation)
        waiting_ticket = session.get(Ticket, still_waiting)
        assert ticket is not None and ticket.status == "open" and row is not None and row.closed_at is None
        assert waiting_ticket is not None and waiting_ticket.status == "new"
