"""Who a chat visitor is: an unconfirmed address, a mailed code, an identity signed by the site (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.channels.chat import visitors
from okno.channels.chat.models import ChatEmailCode, ChatVisitor
from okno.channels.widget import service
from okno.channels.widget.identity import sign_identity
from okno.channels.widget.service import WidgetSettings
from okno.clock import FrozenClock
from okno.crypto import Sealer
from okno.customers import service as customers_service
from okno.db import Database
from okno.jobs.models import Job
from okno.tickets.models import Message, MessageKind, Ticket
from tests import databases
from tests.factories.chat import (
    SEALER,
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
from tests.factories.personas import Personas, make_customer
from tests.factories.tickets import make_ticket

CODE_SEALER = Sealer("test-secret", purpose=visitors.CODE_SEAL_PURPOSE)


@pytest.fixture
def db(idle_template: databases.Template, tmp_path: Path, clock: FrozenClock) -> Iterator[Database]:
    yield from fresh_database(idle_template, tmp_path, clock)


def secret_of(widget: WidgetSettings, db: Database) -> bytes:
    with db.read() as session:
        return service.identity_secret(session, widget.id, sealer=SEALER)


def post(client: TestClient, widget: WidgetSettings, path: str, token: str, json: dict[str, object]):  # type: ignore[no-untyped-def]
    return client.post(
        f"/widget/{widget.key}{path}", json=json, headers={"origin": SHOP, "authorization": f"Bearer {token}"}
    )


def mailed_code(db: Database) -> str:
    with db.read() as session:
        job = session.scalars(
            sa.select(Job).where(Job.name == visitors.SEND_CODE_JOB).order_by(Job.id.desc()).limit(1)
        ).one()
    return CODE_SEALER.unseal(job.payload["sealed_code"])


def earlier_chat(db: Database, people: Personas, email: str) -> int:
    customer_id = make_customer(db, email=email, name="Anna")
    return make_ticket(
        db, people.agent.actor, customer_id=customer_id, channel="chat", subject="Earlier chat about a refund"
    )


def test_an_unconfirmed_address_links_the_chat_for_agents_only(
    client: TestClient, db: Database, people: Personas
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    earlier = earlier_chat(db, people, "anna@customer.example")
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:
        receive(socket)
        started = start(socket, "Where is my refund?", email="Anna@Customer.example", name="Anna")
        assert started["visitor"] == {"name": "Anna", "email": "anna@customer.example", "email_confirmed": False}
    with connect(client, widget, token) as socket:
        history = receive(socket)
    assert [c["id"] for c in history["conversations"]] == [started["conversation_id"]]  # not the earlier chat
    with db.read() as session:
        ticket = session.get(Ticket, started["conversation_id"])
        earlier_ticket = session.get(Ticket, earlier)
        assert ticket is not None and earlier_ticket is not None
        assert ticket.customer_id == earlier_ticket.customer_id  # agents see one customer
        [note] = session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket.id, Message.kind == MessageKind.note)
        )
        assert "without confirming it" in note.body_text


def test_a_mailed_code_confirms_the_address_and_shows_earlier_chats(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    earlier = earlier_chat(db, people, "anna@customer.example")
    token = new_visitor(client, widget)
    with connect(client, widget, token) as socket:  # an anonymous chat first
        receive(socket)
        anonymous = start(socket, "Hello, a question about my refund please")["conversation_id"]

    asked = post(client, widget, "/visitors/me/email-code", token, {"email": "anna@customer.example"})
    unknown = post(
        client, widget, "/visitors/me/email-code", new_visitor(client, widget), {"email": "x@nobody.example"}
    )
    assert asked.status_code == unknown.status_code == 202 and asked.json() == unknown.json() == {"status": "sent"}
    assert asked.headers["access-control-allow-origin"] == SHOP
    post(client, widget, "/visitors/me/email-code", token, {"email": "anna@customer.example"})
    code = mailed_code(db)  # asking again spends the first code
    wrong = post(
        client, widget, "/visitors/me/email-code/confirm", token, {"code": "000000" if code != "000000" else "1"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_code"
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.max(ChatEmailCode.attempts))) == 1  # the wrong try counted
    confirmed = post(client, widget, "/visitors/me/email-code/confirm", token, {"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["visitor"] == {"name": "", "email": "anna@customer.example", "email_confirmed": True}
    again = post(client, widget, "/visitors/me/email-code/confirm", token, {"code": code})
    assert again.status_code == 422  # single use

    with connect(client, widget, token) as socket:
        history = receive(socket)
    assert {c["id"] for c in history["conversations"]} == {earlier, anonymous}
    with db.read() as session:
        customer = customers_service.find_by_identity(
            session, customers_service.IdentityKind.email, "anna@customer.example"
        )
        assert customer is not None
        moved = session.get(Ticket, anonymous)
        assert moved is not None and moved.customer_id == customer.id  # the visitor's own record merged in
        assert {i.kind for i in customer.identities} == {"email", "chat"}


def test_codes_expire_and_allow_few_attempts(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    widget = make_widget(db, people)
    token = new_visitor(client, widget)
    post(client, widget, "/visitors/me/email-code", token, {"email": "vera@customer.example"})
    code = mailed_code(db)
    for _ in range(visitors.CODE_ATTEMPTS):
        post(client, widget, "/visitors/me/email-code/confirm", token, {"code": "999999" if code != "999999" else "1"})
    assert post(client, widget, "/visitors/me/email-code/confirm", token, {"code": code}).status_code == 422
    post(client, widget, "/visitors/me/email-code", token, {"email": "vera@customer.example"})
    clock.advance(timedelta(minutes=11))
    assert post(client, widget, "/visitors/me/email-code/confirm", token, {"code": mailed_code(db)}).status_code == 422
    limited = post(client, widget, "/visitors/me/email-code", token, {"email": "vera@customer.example"})
    assert limited.status_code == 202
    refused = post(client, widget, "/visitors/me/email-code", token, {"email": "vera@customer.example"})
    assert refused.status_code == 429 and refused.headers["access-control-allow-origin"] == SHOP
    assert post(client, widget, "/visitors/me/email-code", "forged", {"email": "a@b.example"}).status_code == 401


def test_an_identity_signed_by_the_site_confirms_the_visitor(
    client: TestClient, db: Database, people: Personas
) -> None:
    widget = make_widget(db, people)
    go_online(db, people.agent.actor)
    earlier = earlier_chat(db, people, "anna@customer.example")
    secret = secret_of(widget, db)
    signature = sign_identity(secret, email="anna@customer.example")
    forged = client.post(
        f"/widget/{widget.key}/visitors",
        json={"identity": {"email": "anna@customer.example", "name": "Anna", "signature": "0" * 64}},
        headers={"origin": SHOP},
    )
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "bad_signature"
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ChatVisitor)) == 0  # nothing half-made
    identity = {"email": "anna@customer.example", "name": "Anna", "signature": signature}
    token = new_visitor(client, widget, identity=identity)
    with connect(client, widget, token) as socket:
        history = receive(socket)
        assert history["visitor"] == {"name": "Anna", "email": "anna@customer.example", "email_confirmed": True}
        assert [c["id"] for c in history["conversations"]] == [earlier]
        socket.send_json({"type": "message", "conversation_id": earlier, "body": "Any news on this?", "ref": "m"})
        sent = receive_until(socket, lambda f: f["type"] in {"sent", "error"})[-1]
        assert sent["type"] == "sent" and sent["conversation_id"] == earlier
    # A visitor who signs in on the site later presents the identity with their token.
    later = new_visitor(client, widget)
    proven = post(client, widget, "/visitors/me/identity", later, identity)
    assert proven.status_code == 200 and proven.json()["visitor"]["email_confirmed"] is True
