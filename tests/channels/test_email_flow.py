"""Email end to end against a served Okno: mail in through its SMTP and LMTP receivers, replies out by SMTP."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import databases
from tests.channels.mail_servers import Outbox, smtp_server
from tests.served import admin_token, free_port, okno_env, run, serving


@dataclass
class MailDesk:
    api: httpx.Client
    receiver_port: int
    lmtp_port: int
    outbox: Outbox

    def send(self, message: EmailMessage, to: str = "support@shop.example") -> None:
        with smtplib.SMTP("127.0.0.1", self.receiver_port, timeout=10) as client:
            client.send_message(message, to_addrs=[to])

    def messages(self, ticket_id: int) -> list[dict[str, Any]]:
        return public(self.api.get(f"/api/v1/tickets/{ticket_id}/messages").json())

    def wait(self, path: str, check: Any, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            body = self.api.get(path).json()
            if check(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never matched: {body}")
            time.sleep(0.1)


def public(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Without internal notes (the system notes that the acknowledgement went out)."""
    return [m for m in messages if m["kind"] != "note"]


@pytest.fixture
def mail_desk(served_template: databases.Template, tmp_path: Path) -> Iterator[MailDesk]:
    receiver_port, lmtp_port = free_port(), free_port()
    env = okno_env(
        served_template.fresh_url(tmp_path),
        tmp_path / "data",
        OKNO_SMTP_RECEIVER_PORT=str(receiver_port),
        OKNO_LMTP_RECEIVER_PORT=str(lmtp_port),
    )
    token = admin_token(env)
    with smtp_server() as (smtp_port, outbox):
        added = run(
            env, "mailbox", "add", "--address", "support@shop.example", "--name", "Shop support",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-security", "none",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with (
            serving(env) as (base, _process),
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
        ):
            yield MailDesk(api, receiver_port, lmtp_port, outbox)


def customer_mail(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Анна Петрова <anna@customer.example>"
    message["To"] = "support@shop.example"
    message["Subject"] = headers.pop("Subject", "Заказ 1042 не пришёл")
    message["Message-ID"] = headers.pop("Message-ID", "<first-1042@customer.example>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Здравствуйте! Заказ 1042 должен был прийти в понедельник, но его всё нет.")
    return message


def test_mail_becomes_a_ticket_and_the_reply_threads_under_it(mail_desk: MailDesk) -> None:
    mail_desk.send(customer_mail())
    mail_desk.send(customer_mail())  # delivered twice: still one message
    tickets = mail_desk.wait("/api/v1/tickets?channel=email", lambda b: len(b["items"]) == 1)["items"]
    ticket = tickets[0]
    assert ticket["subject"] == "Заказ 1042 не пришёл" and ticket["channel"] == "email"
    messages = mail_desk.messages(ticket["id"])
    assert [m["external_id"] for m in messages] == ["<first-1042@customer.example>"]
    assert messages[0]["language"] == "ru"
    # The customer is told the ticket's number at once, in Russian, as an RFC 3834 auto-reply.
    [(recipients, ack)] = mail_desk.outbox.wait_for(1)
    assert recipients == ["anna@customer.example"] and ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<first-1042@customer.example>" and f"[#{ticket['number']}]" in ack["Subject"]
    assert "Мы получили ваше обращение" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    reply = mail_desk.api.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Анна, курьер привезёт заказ сегодня."}
    )
    assert reply.status_code == 201, reply.text
    (recipients, sent) = mail_desk.outbox.wait_for(2)[1]
    assert recipients == ["anna@customer.example"] and sent["Auto-Submitted"] == "no"
    assert sent["In-Reply-To"] == "<first-1042@customer.example>"
    assert f"[#{ticket['number']}]" in sent["Subject"]
    assert str(sent["From"]).endswith("<support@shop.example>")
    assert "курьер привезёт" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    mail_desk.wait(f"/api/v1/tickets/{ticket['id']}/messages", lambda b: b[-1]["delivery_status"] == "sent")

    # The customer answers from their mail client: it threads by the reply's Message-ID.
    answer = customer_mail(
        Subject=f"Re: {sent['Subject']}", **{"Message-ID": "<second-1042@customer.example>"},
        In_Reply_To=sent["Message-ID"], References=f"<first-1042@customer.example> {sent['Message-ID']}",
    )  # fmt: skip
    mail_desk.send(answer)
    mail_desk.wait(f"/api/v1/tickets/{ticket['id']}/messages", lambda b: len(public(b)) == 3)
    assert len(mail_desk.api.get("/api/v1/tickets?channel=email").json()["items"]) == 1


def test_mail_delivered_by_lmtp_becomes_a_ticket(mail_desk: MailDesk) -> None:
    with smtplib.LMTP("127.0.0.1", mail_desk.lmtp_port, timeout=10) as client:
        refused = client.sendmail("anna@customer.example", ["support@shop.example"], customer_mail().as_bytes())
    assert refused == {}
    ticket = mail_desk.wait("/api/v1/tickets?channel=email", lambda b: len(b["items"]) == 1)["items"][0]
    assert [m["external_id"] for m in mail_desk.messages(ticket["id"])] == ["<first-1042@customer.example>"]


def test_a_guessed_ticket_number_from_a_stranger_opens_a_new_ticket(mail_desk: MailDesk) -> None:
    mail_desk.send(customer_mail())
    ticket = mail_desk.wait("/api/v1/tickets?channel=email", lambda b: len(b["items"]) == 1)["items"][0]
    stranger = customer_mail(Subject=f"Re: [#{ticket['number']}]", **{"Message-ID": "<x@evil.example>"})
    stranger.replace_header("From", "Mallory <mallory@evil.example>")
    mail_desk.send(stranger)
    mail_desk.wait("/api/v1/tickets?channel=email", lambda b: len(b["items"]) == 2)
    assert len(mail_desk.messages(ticket["id"])) == 1


def test_a_refused_recipient_marks_the_reply_undelivered(mail_desk: MailDesk) -> None:
    mail_desk.outbox.refuse.add("anna@customer.example")
    mail_desk.send(customer_mail())
    ticket = mail_desk.wait("/api/v1/tickets?channel=email", lambda b: len(b["items"]) == 1)["items"][0]
    mail_desk.api.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Hello"})
    last = mail_desk.wait(
        f"/api/v1/tickets/{ticket['id']}/messages", lambda b: public(b)[-1]["delivery_status"] == "failed"
    )
    assert "550" in public(last)[-1]["delivery_error"]


def test_a_reply_on_a_web_form_ticket_is_also_emailed(mail_desk: MailDesk) -> None:
    created = mail_desk.api.post(
        "/api/v1/tickets",
        json={
            "subject": "Промокод не применяется",
            "customer": {"email": "oleg@customer.example", "name": "Олег"},
            "message": {"body": "Код OKNO10 не работает"},
            "channel": "web",
        },
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    mail_desk.api.post(f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Олег, код снова работает."})
    [(recipients, sent)] = mail_desk.outbox.wait_for(1)
    assert recipients == ["oleg@customer.example"] and f"[#{ticket['number']}]" in sent["Subject"]
    mail_desk.wait(f"/api/v1/tickets/{ticket['id']}/messages", lambda b: b[-1]["delivery_status"] == "sent")
