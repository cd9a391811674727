"""The public web form and the customer portal over HTTP (both databases)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.accounts.permissions import Actor
from okno.channels.portal import service as portal_service
from okno.clock import FrozenClock
from okno.config import Settings
from okno.crypto import Sealer
from okno.customers import service as customers_service
from okno.customers.schemas import OrganizationCreate
from okno.db import Database
from okno.jobs.models import Job
from okno.runtime import Runtime
from okno.tickets.models import Attachment, Message, Ticket
from tests.factories.personas import Personas, make_customer_person
from tests.factories.tickets import make_ticket, reply, update

HTML = {"accept": "text/html"}


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def open_form(client: TestClient, clock: FrozenClock, path: str = "/support/new") -> dict[str, str]:
    page = client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    clock.advance(timedelta(seconds=20))  # a person reads and types
    fields = {"csrf_token": hidden(page.text, "csrf_token")}
    if 'name="started"' in page.text:
        fields["started"] = hidden(page.text, "started")
    return fields


def send_form(client: TestClient, clock: FrozenClock, files: list | None = None, **values: str):  # type: ignore[no-untyped-def, type-arg]
    form = open_form(client, clock)
    data = {
        "name": "Vera Lang",
        "email": "vera@shop-customer.example",
        "subject": "The parcel arrived damaged",
        "message": "Hello, the box was crushed and the lamp inside is broken. What can I do?",
        "website": "",
        **form,
        **values,
    }
    return client.post("/support/new", data=data, files=files or [], headers=HTML)


def tickets_of(db: Database) -> list[Ticket]:
    with db.read() as session:
        return list(session.scalars(sa.select(Ticket).order_by(Ticket.id)))


def test_the_public_form_opens_a_web_ticket_for_a_new_customer(
    client: TestClient, db: Database, clock: FrozenClock
) -> None:
    files = [("attachments", ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png"))]
    response = send_form(client, clock, files=files)
    assert response.status_code == 200, response.text
    [ticket] = tickets_of(db)
    assert f"#{ticket.number}" in response.text
    assert ticket.channel == "web" and ticket.subject == "The parcel arrived damaged" and ticket.language == "en"
    with db.read() as session:
        message = session.scalars(sa.select(Message).where(Message.ticket_id == ticket.id)).one()
        assert message.language == "en" and message.channel == "web"
        [attachment] = session.scalars(sa.select(Attachment).where(Attachment.message_id == message.id))
        assert attachment.filename == "photo.png" and attachment.uploaded_by_customer_id == ticket.customer_id
    api_ticket = client.get(f"/api/v1/tickets/{ticket.id}")
    assert api_ticket.status_code == 401  # the form gave no access to anything


def test_spam_through_the_form_opens_its_ticket_in_the_spam_folder(
    client: TestClient, db: Database, clock: FrozenClock
) -> None:
    spam = send_form(
        client,
        clock,
        name="SEO Team",
        email="team@seo-growth.example",
        subject="INCREASE YOUR SALES NOW",
        message="We increase your sales with SEO services: first page of Google. https://seo-growth.example/a "
        "https://seo-growth.example/b https://seo-growth.example/c",
    )
    [ticket] = tickets_of(db)
    assert spam.status_code == 200 and f"#{ticket.number}" in spam.text  # the same thanks whatever the verdict
    assert ticket.spam_at is not None
    assert send_form(client, clock).status_code == 200
    assert [t.spam_at is None for t in tickets_of(db)] == [False, True]


def test_honeypot_and_hasty_submissions_are_refused_quietly(
    client: TestClient, db: Database, clock: FrozenClock
) -> None:
    trapped = send_form(client, clock, website="http://spam.example")
    assert trapped.status_code == 200 and "Thank you" in trapped.text and "request number" not in trapped.text
    page = client.get("/support/new", headers=HTML)
    hasty = client.post(
        "/support/new",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "started": hidden(page.text, "started"),
            "name": "Bot",
            "email": "bot@spam.example",
            "subject": "Cheap watches",
            "message": "Buy now",
        },
        headers=HTML,
    )
    assert hasty.status_code == 200 and "Please check your message once more" in hasty.text
    assert "Cheap watches" in hasty.text  # a quick person keeps what they typed
    forged = send_form(client, clock, started="1700000000.deadbeef")
    assert forged.status_code == 200 and "request number" not in forged.text
    assert tickets_of(db) == []


def test_form_errors_stand_next_to_their_fields_and_keep_the_text(
    client: TestClient, db: Database, clock: FrozenClock
) -> None:
    response = send_form(client, clock, email="not-an-address", message="")
    assert response.status_code == 422
    assert 'id="email-error"' in response.text and "Enter a valid email address." in response.text
    assert 'id="message-error"' in response.text and "The parcel arrived damaged" in response.text
    assert 'value="not-an-address"' in response.text
    no_csrf = client.post("/support/new", data={"csrf_token": "forged"}, headers=HTML)
    assert no_csrf.status_code == 403
    big = [("attachments", ("big.bin", b"x" * (300 * 1024), "application/octet-stream"))]
    too_large = send_form(client, clock, files=big)
    assert too_large.status_code == 422 and 'id="attachments-error"' in too_large.text
    assert tickets_of(db) == []


def test_the_form_is_rate_limited_per_address(client: TestClient, db: Database, clock: FrozenClock) -> None:
    for _ in range(portal_service.FORM_PER_EMAIL[0]):
        assert send_form(client, clock).status_code == 200
    refused = send_form(client, clock)
    assert refused.status_code == 429 and "wait an hour" in refused.text
    assert len(tickets_of(db)) == portal_service.FORM_PER_EMAIL[0]
    clock.advance(timedelta(hours=1, minutes=1))
    assert send_form(client, clock).status_code == 200


def ask_for_link(client: TestClient, email: str) -> str:
    page = client.get("/portal/sign-in", headers=HTML)
    response = client.post("/portal/sign-in", data={"email": email, "csrf_token": hidden(page.text, "csrf_token")})
    assert response.status_code == 200, response.text
    return response.text


def link_tokens(db: Database, settings: Settings) -> list[str]:
    sealer = Sealer(settings.resolved_secret_key(), purpose=portal_service.LINK_SEAL_PURPOSE)
    with db.read() as session:
        jobs = session.scalars(sa.select(Job).where(Job.name == portal_service.SEND_LINK_JOB).order_by(Job.id))
        return [sealer.unseal(job.payload["sealed_token"]) for job in jobs]


def sign_in_with(client: TestClient, token: str) -> int:
    confirm = client.get(f"/portal/sign-in/{token}", headers=HTML)
    if confirm.status_code != 200:
        return confirm.status_code
    response = client.post(
        f"/portal/sign-in/{token}", data={"csrf_token": hidden(confirm.text, "csrf_token")}, follow_redirects=False
    )
    if response.status_code == 303:
        assert "okno_portal_session=" in response.headers["set-cookie"]
        assert "Path=/portal" in response.headers["set-cookie"]
    return response.status_code


def portal_csrf(client: TestClient, path: str = "/portal") -> str:
    return hidden(client.get(path, headers=HTML).text, "csrf_token")


def test_magic_link_signs_a_customer_in_once(
    client: TestClient, db: Database, settings: Settings, clock: FrozenClock, people: Personas
) -> None:
    own = make_ticket(db, people.customer.actor, subject="My own question")
    make_ticket(db, people.other_customer.actor, subject="Someone else's question")
    known = ask_for_link(client, people.customer.email.upper())
    unknown = ask_for_link(client, "nobody@nowhere.example")
    assert known.replace(people.customer.email, "X") == unknown.replace("nobody@nowhere.example", "X")
    assert "If we know the address" in known
    [token] = link_tokens(db, settings)  # the unknown address got no mail
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(portal_service.MagicLink)) == 1
        stored = session.scalars(sa.select(portal_service.MagicLink)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert client.get("/portal", headers=HTML, follow_redirects=False).headers["location"] == "/portal/sign-in"
    assert sign_in_with(client, token) == 303
    page = client.get("/portal", headers=HTML)
    assert "My own question" in page.text and "Someone else" not in page.text
    assert f"/portal/requests/{own}" in page.text
    # Staff pages stay closed to a customer's portal session.
    assert client.get("/inbox", headers=HTML, follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert sign_in_with(client, token) == 410  # used once


def test_an_expired_link_is_refused(
    client: TestClient, db: Database, settings: Settings, clock: FrozenClock, people: Personas
) -> None:
    ask_for_link(client, people.customer.email)
    [token] = link_tokens(db, settings)
    clock.advance(timedelta(minutes=16))
    assert sign_in_with(client, token) == 410
    assert sign_in_with(client, "made-up-token") == 410


def test_first_sign_in_makes_the_portal_account(
    client: TestClient, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    send_form(client, clock)
    ask_for_link(client, "vera@shop-customer.example")
    [token] = link_tokens(db, settings)
    assert sign_in_with(client, token) == 303
    assert "The parcel arrived damaged" in client.get("/portal", headers=HTML).text


def test_link_requests_are_rate_limited_alike_for_known_and_unknown(
    client: TestClient, db: Database, settings: Settings, people: Personas
) -> None:
    for email in (people.customer.email, "ghost@nowhere.example"):
        for _ in range(portal_service.LINK_PER_EMAIL[0]):
            ask_for_link(client, email)
        page = client.get("/portal/sign-in", headers=HTML)
        refused = client.post("/portal/sign-in", data={"email": email, "csrf_token": hidden(page.text, "csrf_token")})
        assert refused.status_code == 429 and "quarter of an hour" in refused.text
    assert len(link_tokens(db, settings)) == portal_service.LINK_PER_EMAIL[0]


def signed_in(client: TestClient, db: Database, settings: Settings, email: str) -> None:
    ask_for_link(client, email)
    assert sign_in_with(client, link_tokens(db, settings)[-1]) == 303


def test_the_customer_reads_replies_closes_and_never_sees_notes(
    client: TestClient, db: Database, settings: Settings, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.customer.actor, subject="Invoice missing")
    reply(db, people.agent.actor, ticket_id, "Here is your invoice.")
    reply(db, people.agent.actor, ticket_id, "Customer sounds upset; be gentle", kind="note")
    others = make_ticket(db, people.other_customer.actor, subject="Private")
    signed_in(client, db, settings, people.customer.email)
    page = client.get(f"/portal/requests/{ticket_id}", headers=HTML)
    assert page.status_code == 200 and "Here is your invoice." in page.text
    assert "be gentle" not in page.text and "hx-disable" in page.text
    assert client.get(f"/portal/requests/{others}", headers=HTML).status_code == 404
    csrf = portal_csrf(client)
    assert (
        client.post(f"/portal/requests/{others}/reply", data={"message": "hi", "csrf_token": csrf}).status_code == 404
    )
    assert client.post(f"/portal/requests/{ticket_id}/close", data={"csrf_token": "forged"}).status_code == 403

    closed = client.post(f"/portal/requests/{ticket_id}/close", data={"csrf_token": csrf}, headers=HTML)
    assert closed.status_code == 200 and "The request is closed" in closed.text
    with db.read() as session:
        assert session.get(Ticket, ticket_id).status == "solved"  # type: ignore[union-attr]
    answered = client.post(
        f"/portal/requests/{ticket_id}/reply",
        data={"message": "Sorry, the invoice has the wrong address.", "csrf_token": csrf},
        files=[("attachments", ("address.txt", b"New street 1", "text/plain"))],
        headers=HTML,
    )
    assert answered.status_code == 200 and "wrong address" in answered.text and "address.txt" in answered.text
    with db.read() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "open"  # the reply reopened it
        last = session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id.desc())
        ).first()
        assert last is not None and last.channel == "portal" and last.author_customer_id == people.customer.customer_id
    empty = client.post(f"/portal/requests/{ticket_id}/reply", data={"message": "", "csrf_token": csrf}, headers=HTML)
    assert empty.status_code == 422 and 'id="reply-error"' in empty.text


def test_new_request_from_the_portal_and_sign_out(
    client: TestClient, db: Database, settings: Settings, people: Personas, clock: FrozenClock
) -> None:
    signed_in(client, db, settings, people.customer.email)
    form = open_form(client, clock, "/portal/new")
    created = client.post(
        "/portal/new",
        data={
            **form,
            "subject": "Заказ не пришёл",
            "message": "Здравствуйте! Заказ должен был прийти вчера, но его нет.",
        },
        headers=HTML,
    )
    assert created.status_code == 200 and "Заказ не пришёл" in created.text
    [ticket] = [t for t in tickets_of(db) if t.subject == "Заказ не пришёл"]
    assert ticket.channel == "portal" and ticket.language == "ru" and ticket.customer_id == people.customer.customer_id
    csrf = portal_csrf(client)
    out = client.post("/portal/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/portal", headers=HTML, follow_redirects=False).status_code == 303


def test_russian_by_browser_and_by_choice(client: TestClient) -> None:
    russian = client.get("/support/new", headers={**HTML, "accept-language": "ru-RU,ru;q=0.9"})
    assert "Свяжитесь с нами" in russian.text
    client.get("/portal/language?to=en&next=/support/new")
    assert "Contact us" in client.get("/support/new", headers={**HTML, "accept-language": "ru"}).text


def test_without_a_mailbox_the_link_job_ends_quietly(
    client: TestClient, db: Database, runtime: Runtime, people: Personas, caplog: pytest.LogCaptureFixture
) -> None:
    ask_for_link(client, people.customer.email)
    with caplog.at_level(logging.WARNING, logger="okno.channels.portal.mail"):
        report = runtime.worker.run_pending()
    assert report.done >= 1 and report.failed == 0
    assert "no mailbox with an SMTP server" in caplog.text


def test_an_organization_that_shares_tickets_shows_colleagues_requests(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.write() as session:
        org = customers_service.create_organization(
            session, Actor.system("tests"), data=OrganizationCreate(name="Acme", shared_tickets=True)
        )
        org_id = org.id
    first = make_customer_person(db, email="first@acme.example", organization_id=org_id)
    second = make_customer_person(db, email="second@acme.example", organization_id=org_id)
    stranger = make_customer_person(db, email="stranger@else.example")
    make_ticket(db, second.actor, subject="Printer on floor 2")
    make_ticket(db, stranger.actor, subject="Not Acme's business")
    signed_in(client, db, settings, first.email)
    page = client.get("/portal", headers=HTML).text
    assert "Printer on floor 2" in page and "· from second<" in page and "Not Acme" not in page


def test_a_staff_address_never_signs_into_the_portal(
    client: TestClient, db: Database, settings: Settings, people: Personas
) -> None:
    with db.write() as session:
        customers_service.find_or_create_by_email(session, email=people.agent.email, name="Agent as customer")
    ask_for_link(client, people.agent.email)
    [token] = link_tokens(db, settings)
    assert sign_in_with(client, token) == 410


def test_writing_on_a_closed_request_continues_in_a_follow_up(
    client: TestClient, db: Database, settings: Settings, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.customer.actor, subject="Broken zipper")
    update(db, people.agent.actor, ticket_id, status="solved")
    update(db, people.agent.actor, ticket_id, status="closed")
    signed_in(client, db, settings, people.customer.email)
    page = client.get(f"/portal/requests/{ticket_id}", headers=HTML).text
    assert "Closed" in page and "Close this request" not in page
    response = client.post(
        f"/portal/requests/{ticket_id}/reply",
        data={"message": "The new one broke too.", "csrf_token": portal_csrf(client)},
        follow_redirects=False,
    )
    follow_up = int(response.headers["location"].split("/")[3].split("?")[0])
    assert follow_up != ticket_id
    with db.read() as session:
        ticket = session.get(Ticket, follow_up)
        assert ticket is not None and ticket.follow_up_of_id == ticket_id and ticket.channel == "portal"
