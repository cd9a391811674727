"""Filing stored mail: bounces, automatic acknowledgements and their limit, quarantine and re-runs.

Service level on both databases; outgoing mail goes to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.automation.business_hours import service as business_hours
from okno.automation.business_hours.schemas import CalendarCreate
from okno.channels.email import intake, mailboxes, quarantine
from okno.channels.email.models import AutoReply, InboundEmail, Mailbox
from okno.channels.email.schemas import MailboxCreate
from okno.clock import FrozenClock
from okno.crypto import Sealer
from okno.errors import Conflict
from okno.runtime import Runtime
from okno.tickets import service as tickets_service
from okno.tickets.models import Message, MessageKind, Ticket
from okno.tickets.schemas import MessageCreate
from tests.channels.mail_servers import Outbox, smtp_server
from tests.factories.personas import Personas
from tests.factories.sla import make_policy

CORPUS = Path(__file__).parents[1] / "data" / "mail"


@pytest.fixture
def outbox(runtime: Runtime) -> Iterator[Outbox]:
    with smtp_server() as (port, box), runtime.db.write() as session:
        mailboxes.add_mailbox(
            session,
            Actor.system("tests"),
            data=MailboxCreate(
                address="support@shop.example",
                display_name="Shop support",
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="none",
            ),
            sealer=Sealer("test-secret"),
        )
        yield box


def customer_mail(
    message_id: str = "<q-1@customer.example>", sender: str = "Anna <anna@customer.example>", **headers: str
) -> bytes:
    body = headers.pop("body", "It has not arrived yet. Could you check, please?")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@shop.example"
    mail["Subject"] = headers.pop("Subject", "Where is my order?")
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def receive(runtime: Runtime, raw: bytes) -> InboundEmail:
    with runtime.db.write() as session:
        mailbox_id = session.scalar(sa.select(Mailbox.id))
        assert mailbox_id is not None
        stored = intake.store_raw(session, mailbox_id=mailbox_id, raw=raw, source="smtp")
    runtime.worker.run_pending()
    with runtime.db.read() as session:
        inbound = session.get(InboundEmail, stored.inbound_id)
        assert inbound is not None
        return inbound


def ticket_messages(runtime: Runtime, ticket_id: int) -> list[Message]:
    with runtime.db.read() as session:
        return list(session.scalars(sa.select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))


def test_a_new_ticket_is_acknowledged_once_in_the_customers_language(runtime: Runtime, outbox: Outbox) -> None:
    inbound = receive(
        runtime,
        customer_mail(
            sender="Анна Петрова <anna@customer.example>",
            Subject="Заказ не пришёл",
            body="Здравствуйте! Мой заказ так и не пришёл, хотя прошла уже неделя. Помогите, пожалуйста.",
        ),
    )
    assert inbound.status == "processed" and inbound.ticket_id is not None
    [(recipients, ack)] = outbox.wait_for(1)
    with runtime.db.read() as session:
        ticket = session.get(Ticket, inbound.ticket_id)
        assert ticket is not None and ticket.language == "ru"
        number = ticket.number
    assert recipients == ["anna@customer.example"]
    assert ack["Subject"] == f"Re: Заказ не пришёл [#{number}]"
    assert ack["In-Reply-To"] == "<q-1@customer.example>" and ack["Auto-Submitted"] == "auto-replied"
    text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"#{number}" in text and "в течение одного рабочего дня" in text and "Анна Петрова" in text
    # Shown in the timeline as the system's note; the ticket still waits for its first response.
    messages = ticket_messages(runtime, inbound.ticket_id)
    assert [m.kind for m in messages] == [MessageKind.inbound, MessageKind.note]
    assert "Automatic acknowledgement sent to anna@customer.example" in messages[1].body_text
    with runtime.db.read() as session:
        ticket = session.get(Ticket, inbound.ticket_id)
        assert ticket is not None and ticket.waiting_since is not None and ticket.status == "new"

    # A follow-up on the same ticket is not acknowledged again.
    receive(runtime, customer_mail("<q-2@customer.example>", In_Reply_To="<q-1@customer.example>"))
    assert len(outbox.mails) == 1


def test_the_expected_response_text_is_configurable_and_english_by_default(
    runtime: Runtime, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "ack_expected_response", "within 4 hours")
    receive(runtime, customer_mail(body="Hello, my order has not arrived yet. Could you check it, please?"))
    [(_, ack)] = outbox.wait_for(1)
    text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "We will answer within 4 hours." in text and "Hello Anna," in text


def test_the_acknowledgement_names_the_first_responses_due_time_in_the_desks_time(
    runtime: Runtime, outbox: Outbox, clock: FrozenClock, people: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "ack_expected_response", "within 4 hours")  # the SLA wins over it
    with runtime.db.write() as session:
        business_hours.create_calendar(
            session,
            people.admin.actor,
            data=CalendarCreate.model_validate(
                {
                    "name": "Moscow",
                    "time_zone": "Europe/Moscow",
                    "week": {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "holidays": [{"day": "2026-03-09", "name": "Women's Day (moved)"}],
                }
            ),
        )
    make_policy(runtime.db, business_hours=True)  # a first response within 60 business minutes
    clock.set(datetime(2026, 3, 6, 14, 30, tzinfo=UTC))  # Friday, 17:30 in Moscow
    receive(runtime, customer_mail(body="Hello, my order has not arrived yet. Could you check it, please?"))
    receive(
        runtime,
        customer_mail(
            "<q-ru@customer.example>",
            sender="Борис <boris@customer.example>",
            Subject="Заказ",
            body="Здравствуйте! Мой заказ так и не пришёл, хотя прошла уже неделя. Помогите, пожалуйста.",
        ),
    )
    english, russian = (mail.get_body(("plain",)).get_content() for _, mail in outbox.wait_for(2))  # type: ignore[union-attr]
    # Half an hour on Friday; Monday is a holiday; the other half hour on Tuesday from 09:00.
    assert "We will answer by 09:30 on Tuesday, 10 March (Moscow time)." in english
    assert "Мы ответим не позднее 09:30, вторник, 10 марта (часовой пояс: Москва)." in russian


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"sender": "No Reply <no-reply@shop.example>"},
        {"sender": "MAILER-DAEMON@mx.example.org"},
    ],
)
def test_no_acknowledgement_for_robots_and_lists(runtime: Runtime, outbox: Outbox, headers: dict[str, str]) -> None:
    inbound = receive(runtime, customer_mail(**headers))
    assert inbound.status == "processed" and inbound.ticket_id is not None
    with runtime.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AutoReply)) == 0


def test_automatic_replies_are_limited_per_sender_and_hour(
    runtime: Runtime, outbox: Outbox, clock: FrozenClock
) -> None:
    for n in range(5):
        receive(runtime, customer_mail(f"<n-{n}@customer.example>", Subject=f"Question {n}"))
    receive(runtime, customer_mail("<other@b.example>", sender="Bob <bob@b.example>"))
    assert sorted(r for rs, _m in outbox.wait_for(4) for r in rs) == ["anna@customer.example"] * 3 + ["bob@b.example"]
    clock.advance(timedelta(minutes=61))
    receive(runtime, customer_mail("<later@customer.example>", Subject="Later"))
    assert len(outbox.wait_for(5)) == 5


def test_a_bounce_marks_our_reply_undelivered_and_lands_on_its_ticket(
    runtime: Runtime, outbox: Outbox, people: Personas
) -> None:
    inbound = receive(runtime, customer_mail(Auto_Submitted="no"))
    assert inbound.ticket_id is not None
    with runtime.db.write() as session:
        reply_id = tickets_service.add_message(
            session, people.admin.actor, inbound.ticket_id, data=MessageCreate(body="The courier has it.")
        ).message.id
    runtime.worker.run_pending()
    outbox.wait_for(2)  # the acknowledgement and the reply
    with runtime.db.read() as session:
        reply = session.get(Message, reply_id)
        assert reply is not None and reply.delivery_status == "sent" and reply.external_id
        external_id = reply.external_id
    tickets_before = _count(runtime, Ticket)

    dsn = (CORPUS / "52_bounce_dsn.eml").read_bytes().replace(b"<reply-1042-7@okno.test>", external_id.encode())
    bounce = receive(runtime, dsn)
    assert (bounce.status, bounce.ticket_id, bounce.error) == ("processed", inbound.ticket_id, None)
    assert _count(runtime, Ticket) == tickets_before
    with runtime.db.read() as session:
        reply = session.get(Message, reply_id)
        assert reply is not None and reply.delivery_status == "failed"
        assert reply.delivery_error is not None and "5.1.1" in reply.delivery_error
    note = ticket_messages(runtime, inbound.ticket_id)[-1]
    assert note.kind == MessageKind.note and note.author_user_id is None
    assert "could not be delivered to gone@example.org" in note.body_text
    assert len(outbox.mails) == 2  # a bounce is never answered


def test_a_delay_notice_only_adds_a_note_and_an_unknown_bounce_is_dropped(
    runtime: Runtime, outbox: Outbox, people: Personas
) -> None:
    inbound = receive(runtime, customer_mail())
    assert inbound.ticket_id is not None
    with runtime.db.write() as session:
        reply_id = tickets_service.add_message(
            session, people.admin.actor, inbound.ticket_id, data=MessageCreate(body="On its way.")
        ).message.id
    runtime.worker.run_pending()
    with runtime.db.read() as session:
        external_id = session.scalar(sa.select(Message.external_id).where(Message.id == reply_id))
    assert external_id
    delayed = (
        (CORPUS / "53_bounce_dsn_delayed.eml").read_bytes().replace(b"<reply-1043-2@okno.test>", external_id.encode())
    )
    receive(runtime, delayed)
    with runtime.db.read() as session:
        assert session.scalar(sa.select(Message.delivery_status).where(Message.id == reply_id)) == "sent"
    assert "delay" in ticket_messages(runtime, inbound.ticket_id)[-1].body_text

    tickets_before = _count(runtime, Ticket)
    unknown = receive(runtime, (CORPUS / "52_bounce_dsn.eml").read_bytes())
    assert (unknown.status, unknown.ticket_id, unknown.error) == ("processed", None, "bounce for an unknown message")
    assert _count(runtime, Ticket) == tickets_before


def test_quarantined_mail_is_listed_and_runs_again(runtime: Runtime, outbox: Outbox) -> None:
    nameless = customer_mail("<broken@customer.example>", sender="", Subject="=?utf-8?q?Broken=ZZ?=")
    inbound = receive(runtime, nameless)
    assert inbound.status == "quarantined" and inbound.error
    admin = Actor.system("tests")
    with runtime.db.read() as session:
        found, total = quarantine.list_quarantined(session, admin)
        assert total == 1 and found[0].id == inbound.id and found[0].mailbox_address == "support@shop.example"
        assert found[0].subject and "sender" in found[0].error
        assert quarantine.raw_mail(session, admin, inbound.id) == nameless

    # The cause is fixed (here: the mail gets a sender), and an admin runs it again.
    with runtime.db.write() as session:
        row = session.get(InboundEmail, inbound.id)
        assert row is not None
        row.raw = customer_mail("<broken@customer.example>")
        quarantine.retry(session, admin, inbound.id)
    runtime.worker.run_pending()
    with runtime.db.read() as session:
        row = session.get(InboundEmail, inbound.id)
        assert row is not None and row.status == "processed" and row.ticket_id is not None and row.attempts == 2
    with pytest.raises(Conflict), runtime.db.write() as session:
        quarantine.retry(session, admin, inbound.id)


def _count(runtime: Runtime, model: type[object]) -> int:
    with runtime.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
