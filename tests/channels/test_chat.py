"""The chat widget's conversations over the WebSocket and its HTTP side (both databases)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from okno.channels.chat.models import ChatConversation
from okno.clock import FrozenClock
from okno.db import Database
from okno.runtime import Runtime
from okno.tickets import reading
from okno.tickets.models import Message, MessageKind, Ticket
from okno.tickets.viewers import TicketViewers
from tests import databases
from tests.factories.chat import (
    SHOP,
    ChatFrame,
    connect,
    fresh_database,
    go_online,
    make_widget,
    new_visitor,
    receive,
    receive_until,
    socket_url,
    start,
)
from tests.factories.personas import Personas
from tests.factories.tickets import reply

Frame = ChatFrame


@pytest.fixture
def db(idle_template: databases.Template, tmp_path: Path, clock: FrozenClock) -> Iterator[Database]:
    yield from fresh_database(idle_template, tmp_path, clock)


def tickets(db: Database) -> list[Ticket]:
    with db.read() as session:
        return list(session.scalars(sa.select(Ticket).order_by(Ticket.id)))


def test_a_visitor_gets_a_token_only_from_an_allowed_site(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    allowed = client.post(f"/widget/{widget.key}/visitors", json={}, headers={"origin": SHOP})
    assert allowed.status_code == 201
    assert allowed.headers["access-control-allow-origin"] == SHOP and allowed.headers["vary"] == "Origin"
    assert len(allowed.json()["token"]) >= 40 and "set-cookie" not in allowed.headers
    evil = client.post(f"/widget/{widget.key}/visitors", json={}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert evil.json()["error"]["code"] == "origin_not_allowed"
    assert client.post(f"/widget/{widget.key}/visitors", json={}).status_code == 403
    assert client.post("/widget/nope/visitors", json={}, headers={"origin": SHOP}).status_code == 404
    preflight = client.options(
        f"/widget/{widget.key}/visitors/me/email-code",
        headers={"origin": SHOP, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == SHOP
    assert "authorization" in preflight.headers["access-control-allow-headers"]


def test_the_socket_checks_the_origin_and_the_token(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    other = make_widget(db, people, name="Other shop")
    token = new_visitor(client, widget)
    for url, origin in [
        (socket_url(widget, token), "https://evil.example"),
        (socket_url(widget, "forged-token"), SHOP),
        (socket_url(other, token), SHOP),  # a visitor of one widget is nobody on another
        (f"/widget/{widget.key}/ws", SHOP),
    ]:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(url, headers={"origin": origin}):
            pass
    with connect(client, widget, token) as socket:
        history = receive(socket)
        assert history["type"] == "history" and history["conversations"] == []


def test_a_conversation_goes_to_the_topics_team_and_the_agent_answers_live(
    client: TestClient, db: Database, runtime: Runtime, people: Personas
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.other_agent.actor)  # the billing team answers "Problem with an order"
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        started = start(socket, "Hello, my order 1042 has not arrived yet.", topic_id=widget.topics[1].id, name="Vera")
        assert started["ref"] == "r1" and started["offline"] is False
        [ticket] = tickets(db)
        assert started["conversation_id"] == ticket.id
        assert (ticket.channel, ticket.team_id, ticket.language) == ("chat", people.team_b, "en")
        assert ticket.subject == "Problem with an order: Hello, my order 1042 has not arrived yet."
        own = receive_until(socket, lambda f: f["type"] == "message")[-1]
        assert own["message"]["from"] == "visitor" and own["message"]["text"].startswith("Hello, my order")

        reply(db, people.other_agent.actor, ticket.id, body="Let me check, **one moment**.")
        answer = receive_until(socket, lambda f: f["type"] == "message")[-1]
        assert answer["conversation_id"] == ticket.id and answer["event_id"] > 0
        assert answer["message"]["from"] == "agent" and answer["message"]["name"] == "Billing"
        assert "<strong>one moment</strong>" in answer["message"]["html"] and answer["message"]["read"] is False

        socket.send_json({"type": "read", "conversation_id": ticket.id, "message_id": answer["message"]["id"]})
        socket.send_json({"type": "message", "conversation_id": ticket.id, "body": "<b>Thanks</b>", "ref": "r2"})
        sent = receive_until(socket, lambda f: f["type"] == "sent")[-1]
        assert sent["ref"] == "r2" and sent["conversation_id"] == ticket.id
    with db.read() as session:
        messages = list(session.scalars(sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)))
    first, answered, thanks = messages
    assert answered.read_at is not None and answered.delivery_status == "sent"  # read in the widget: delivered
    assert thanks.body_html == "<p>&lt;b&gt;Thanks&lt;/b&gt;</p>"  # a visitor's text stays text
    assert first.author_customer_id == ticket.customer_id and first.channel == "chat"


def test_typing_and_read_marks_travel_both_ways(
    client: TestClient, db: Database, runtime: Runtime, people: Personas
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    token = new_visitor(client, widget)
    agent_feed = runtime.bus.subscribe(people.agent.actor)
    with connect(client, widget, token) as socket:
        receive(socket)
        conversation = start(socket, "Do you ship to Chisinau?", name="Ion")["conversation_id"]
        first_message = receive_until(socket, lambda f: f["type"] == "message")[-1]["message"]["id"]

        agent_page = TicketViewers(runtime.bus, runtime.db.read, people.agent.actor, runtime.db.clock)
        agent_page.receive({"type": "typing", "ticket_id": conversation, "composing": "note"})
        agent_page.receive({"type": "typing", "ticket_id": conversation, "composing": "reply"})
        typing = receive_until(socket, lambda f: f["type"] == "typing")[-1]
        assert typing == {"type": "typing", "conversation_id": conversation, "name": "Agent"}

        read = agent_page.read_request({"type": "read", "ticket_id": conversation, "message_id": first_message})
        assert read == (conversation, first_message)
        with db.write() as session:
            assert reading.mark_read(session, people.agent.actor, conversation, up_to_message_id=first_message) == [
                first_message
            ]
        marked = receive_until(socket, lambda f: f["type"] == "read")[-1]
        assert marked == {"type": "read", "conversation_id": conversation, "message_ids": [first_message]}

        socket.send_json({"type": "typing", "conversation_id": conversation})
        socket.send_json({"type": "message", "conversation_id": conversation, "body": "ping", "ref": "p"})
        receive_until(socket, lambda f: f["type"] == "sent")
    seen = []
    while not agent_feed.queue.empty():
        seen.append(agent_feed.queue.get_nowait())
    kinds = [(e.kind, e.data.get("name")) for e in seen if e.is_signal]
    assert ("customer_typing", "Ion") in kinds
    agent_feed.close()


def test_a_visitor_never_receives_another_visitors_messages(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    anna, boris = new_visitor(client, widget), new_visitor(client, widget)
    with connect(client, widget, anna) as anna_socket, connect(client, widget, boris) as boris_socket:
        receive(anna_socket), receive(boris_socket)
        anna_conversation = start(anna_socket, "Anna's secret question about her invoice")["conversation_id"]
        reply(db, people.agent.actor, anna_conversation, body="Anna, your invoice is ready.")
        receive_until(anna_socket, lambda f: f.get("message", {}).get("from") == "agent")
        # Boris may not even write into Anna's conversation, or read it.
        boris_socket.send_json({"type": "message", "conversation_id": anna_conversation, "body": "hi", "ref": "x"})
        refused = receive_until(boris_socket, lambda f: f["type"] == "error")[-1]
        assert refused["code"] == "unknown_conversation"
        boris_conversation = start(boris_socket, "Boris asks about delivery times")["conversation_id"]
        # His own message comes after anything queued for him before it: nothing of Anna's was.
        frames = receive_until(boris_socket, lambda f: f["type"] == "message")
        assert all(f.get("conversation_id") in {None, boris_conversation} for f in frames)
        assert "Anna" not in json.dumps(frames)
    with db.read() as session:
        owners = dict(session.execute(sa.select(ChatConversation.ticket_id, ChatConversation.visitor_id)).all())
    assert owners[anna_conversation] != owners[boris_conversation]


def test_a_reconnect_resumes_from_the_last_event_seen(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        conversation = start(socket, "Is the blue lamp in stock?")["conversation_id"]
        last = receive_until(socket, lambda f: f["type"] == "message")[-1]["event_id"]
    reply(db, people.agent.actor, conversation, body="Yes, three left.")  # while the visitor is away
    with connect(client, widget, token, after=last) as socket:
        # At least once: events just before the cursor may come again (the widget keeps each message once).
        missed = receive_until(socket, lambda f: f["type"] == "message" and f["message"]["from"] == "agent")[-1]
        assert missed["message"]["text"] == "Yes, three left." and missed["event_id"] > last
    with connect(client, widget, token) as socket:  # a reload: the whole history again
        history = receive(socket)
        [shown] = history["conversations"]
        assert [m["text"] for m in shown["messages"]] == ["Is the blue lamp in stock?", "Yes, three left."]


def test_bad_frames_get_errors_naming_the_field(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        socket.send_text("not json")
        assert receive(socket)["code"] == "invalid"
        socket.send_json({"type": "start", "body": "x" * 6000})
        too_long = receive(socket)
        assert (too_long["code"], too_long["field"]) == ("too_long", "body")
        socket.send_json({"type": "start", "body": "hi", "email": "not-an-address"})
        assert receive(socket)["field"] == "email"
        socket.send_json({"type": "start", "body": "hi", "topic_id": 999999})
        assert receive(socket)["field"] == "topic_id"
        socket.send_json({"type": "shout"})
        assert receive(socket)["code"] == "invalid"
    assert tickets(db) == []


def test_messages_are_throttled_per_visitor(client: TestClient, db: Database, people: Personas) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        conversation = start(socket, "First")["conversation_id"]
        answers = []
        for n in range(12):
            socket.send_json({"type": "message", "conversation_id": conversation, "body": f"spam {n}", "ref": str(n)})
            answers.append(receive_until(socket, lambda f: f["type"] in {"sent", "error"})[-1])
    assert any(a["type"] == "error" and a["code"] == "rate_limited" for a in answers)
    with db.read() as session:
        count = session.scalar(sa.select(sa.func.count()).where(Message.kind == MessageKind.inbound))
    assert count is not None and count < 13
