"""Which replies a channel delivers, and what a reply without a way out records."""

from __future__ import annotations

from fastapi.testclient import TestClient

from okno.db import Database
from okno.runtime import Runtime
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, reply


def delivery_statuses(client: TestClient, people: Personas, ticket_id: int) -> list[str | None]:
    messages = client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=people.admin.headers).json()
    return [m["delivery_status"] for m in messages if m["kind"] == "reply"]


def test_a_web_form_reply_without_a_mailbox_is_not_a_failed_delivery(
    db: Database, runtime: Runtime, client: TestClient, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.agent.actor, channel="web")
    reply(db, people.agent.actor, ticket_id, body="Answered in the portal")
    assert delivery_statuses(client, people, ticket_id) == ["queued"]
    runtime.worker.run_pending()
    assert delivery_statuses(client, people, ticket_id) == [None]  # the portal shows it; nothing was lost


def test_an_email_reply_without_a_mailbox_fails_with_the_reason(
    db: Database, runtime: Runtime, client: TestClient, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.agent.actor, channel="email")
    reply(db, people.agent.actor, ticket_id, body="Hello")
    runtime.worker.run_pending()
    assert delivery_statuses(client, people, ticket_id) == ["failed"]


def test_a_phone_ticket_reply_needs_no_delivery(db: Database, client: TestClient, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, channel="phone")
    reply(db, people.agent.actor, ticket_id, body="As discussed on the phone")
    assert delivery_statuses(client, people, ticket_id) == [None]
