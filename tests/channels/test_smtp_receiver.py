"""Okno's SMTP and LMTP receivers: 250 only after the raw mail is committed, once per Message-ID, 451 on failure.

LMTP answers the end of DATA once per accepted recipient, and each answer stands for that recipient alone.
"""

from __future__ import annotations

import email.policy
import smtplib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.channels.email import intake, mailboxes
from okno.channels.email.models import InboundEmail, Mailbox
from okno.channels.email.schemas import MailboxCreate
from okno.channels.email.smtp_receiver import MailReceiver, Protocol
from okno.crypto import Sealer
from okno.db import Database, make_engine
from okno.jobs.models import Job
from tests import databases
from tests.served import free_port


@dataclass
class Receiving:
    db: Database
    port: int

    def send(self, message: EmailMessage | bytes, to: list[str], sender: str = "anna@customer.example") -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.sendmail(sender, to, raw)

    def stored(self) -> list[tuple[int, str, str]]:
        with self.db.read() as session:
            rows = session.execute(
                sa.select(InboundEmail.mailbox_id, InboundEmail.message_key, InboundEmail.status).order_by(
                    InboundEmail.id
                )
            )
            return [(m, k, str(s)) for m, k, s in rows]

    def jobs(self) -> list[str]:
        with self.db.read() as session:
            return [
                str(key)
                for key in session.scalars(sa.select(Job.idempotency_key).where(Job.name == "channels.email.process"))
            ]


@contextmanager
def receiver(template: databases.Template, tmp_path: Path, protocol: Protocol) -> Iterator[Receiving]:
    engine = make_engine(template.fresh_url(tmp_path))
    db = Database(engine)
    with db.write() as session:
        for address in ("support@shop.example", "sales@shop.example"):
            mailboxes.add_mailbox(
                session, Actor.system("tests"), data=MailboxCreate(address=address), sealer=Sealer("test")
            )
    with MailReceiver(db, protocol=protocol, host="127.0.0.1", port=free_port(), max_message_bytes=1024 * 1024) as r:
        yield Receiving(db, r.port)
    engine.dispose()


@pytest.fixture
def receiving(served_template: databases.Template, tmp_path: Path) -> Iterator[Receiving]:
    with receiver(served_template, tmp_path, "smtp") as receiving:
        yield receiving


def mail(message_id: str | None = "<order-1042@customer.example>", subject: str = "Where is my order?") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Anna <anna@customer.example>"
    message["To"] = "support@shop.example"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("It has not arrived yet.")
    return message


def test_a_mail_is_stored_raw_once_and_its_processing_queued(receiving: Receiving) -> None:
    receiving.send(mail(), ["support@shop.example"])
    receiving.send(mail(), ["support@shop.example"])  # the sender retried after a lost 250
    stored = receiving.stored()
    assert [(key, status) for _box, key, status in stored] == [("<order-1042@customer.example>", "queued")]
    assert len(receiving.jobs()) == 1


def test_without_a_message_id_the_raw_bytes_are_the_key(receiving: Receiving) -> None:
    raw = mail(message_id=None).as_bytes()
    receiving.send(raw, ["support@shop.example"])
    receiving.send(raw, ["support@shop.example"])
    receiving.send(mail(message_id=None, subject="Another question").as_bytes(), ["support@shop.example"])
    keys = [key for _box, key, _status in receiving.stored()]
    assert len(keys) == 2 and all(key.startswith("sha256:") for key in keys)


def test_unknown_recipients_are_refused_and_sub_addresses_delivered(receiving: Receiving) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        receiving.send(mail(), ["nobody@shop.example"])
    assert refused.value.recipients["nobody@shop.example"][0] == 550
    receiving.send(mail(), ["Support+Orders@shop.example", "sales@shop.example", "nobody@shop.example"])
    assert len({box for box, _key, _status in receiving.stored()}) == 2  # one copy per mailbox


def test_a_failed_store_answers_451_so_the_sender_retries(receiving: Receiving) -> None:
    with receiving.db.write() as session:
        session.execute(sa.text("ALTER TABLE inbound_emails RENAME TO inbound_emails_away"))
    with pytest.raises(smtplib.SMTPDataError) as failed:
        receiving.send(mail(), ["support@shop.example"])
    assert failed.value.smtp_code == 451
    with receiving.db.write() as session:
        session.execute(sa.text("ALTER TABLE inbound_emails_away RENAME TO inbound_emails"))
    receiving.send(mail(), ["support@shop.example"])  # the retry
    assert len(receiving.stored()) == 1 and len(receiving.jobs()) == 1


def test_a_mail_over_the_size_limit_is_refused(receiving: Receiving) -> None:
    big = mail()
    big.set_content("x" * (2 * 1024 * 1024))
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
        receiving.send(big, ["support@shop.example"])
    assert receiving.stored() == []


def test_mails_sent_at_once_are_each_stored_once_and_a_refused_one_fails_alone(receiving: Receiving) -> None:
    # The database refuses one Message-ID (a real trigger): that mail alone gets its 451.
    poison = "<poison@customer.example>"
    with receiving.db.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                sa.text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.message_key = '{poison}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                sa.text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbound_emails "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
        else:
            session.execute(
                sa.text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbound_emails "
                    f"WHEN NEW.message_key = '{poison}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
    ids = [f"<order-{n}@customer.example>" for n in range(40)]
    sending = [*ids, poison, *ids[::4]]  # every fourth sent again

    def send_share(share: list[str]) -> list[int]:
        codes = []
        with smtplib.SMTP("127.0.0.1", receiving.port, timeout=30) as client:
            for message_id in share:
                try:
                    client.sendmail("anna@customer.example", ["support@shop.example"], mail(message_id).as_bytes())
                    codes.append(250)
                except smtplib.SMTPDataError as refused:
                    codes.append(refused.smtp_code)
        return codes

    with ThreadPoolExecutor(8) as pool:
        codes = [code for share in pool.map(send_share, [sending[i::8] for i in range(8)]) for code in share]
    assert sorted(codes) == [250] * (len(sending) - 1) + [451]
    assert sorted(key for _box, key, _status in receiving.stored()) == sorted(ids)
    assert len(receiving.jobs()) == len(ids)


def test_several_mails_stored_at_once_keep_their_order_and_each_is_stored_once(receiving: Receiving) -> None:
    with receiving.db.write() as session:
        support, sales = sorted(session.scalars(sa.select(Mailbox.id)))
        first = mail("<a@customer.example>").as_bytes()
        before = intake.store_raw(session, mailbox_id=support, raw=first, source="smtp")
    copies = [
        intake.Received(support, mail("<b@customer.example>").as_bytes(), "smtp"),
        intake.Received(support, mail("<a@customer.example>").as_bytes(), "smtp"),  # stored before
        intake.Received(sales, mail("<b@customer.example>").as_bytes(), "smtp"),  # another mailbox: its own copy
        intake.Received(support, mail("<c@customer.example>").as_bytes(), "smtp"),
        intake.Received(support, mail("<b@customer.example>").as_bytes(), "smtp"),  # twice in one go
    ]
    with receiving.db.write() as session:
        stored = intake.store_many(session, copies)
    assert [s.duplicate for s in stored] == [False, True, False, False, True]
    assert stored[1].inbound_id == before.inbound_id and stored[4].inbound_id == stored[0].inbound_id
    assert stored[0].inbound_id < stored[2].inbound_id < stored[3].inbound_id  # filed in the order they came
    assert len(receiving.stored()) == 4 and len(receiving.jobs()) == 4


# --- LMTP ---------------------------------------------------------------------------------------

Replies = dict[str, tuple[int, bytes]]


def lmtp_send(port: int, raw: bytes, to: list[str], sender: str = "anna@customer.example") -> Replies:
    """An LMTP transaction: each recipient's answer, at RCPT if refused there, else after DATA.

    smtplib's ``sendmail`` reads a single reply after DATA, so the per-recipient replies are
    read here as an LMTP client (a mail server delivering to Okno) reads them.
    """
    replies: Replies = {}
    with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()  # LHLO
        assert client.has_extn("pipelining")
        code, text = client.mail(sender)
        assert code == 250, text
        accepted = []
        for address in to:
            code, text = client.rcpt(address)
            if code == 250:
                accepted.append(address)
            else:
                replies[address] = (code, text)
        if accepted:
            replies[accepted[0]] = client.data(raw)
            for address in accepted[1:]:
                replies[address] = client.getreply()
        assert client.noop()[0] == 250  # nothing left unread: the replies matched the recipients
    return replies


def codes(replies: Replies) -> dict[str, int]:
    return {address: code for address, (code, _text) in replies.items()}


@pytest.fixture
def lmtp(served_template: databases.Template, tmp_path: Path) -> Iterator[Receiving]:
    with receiver(served_template, tmp_path, "lmtp") as receiving:
        yield receiving


def test_lmtp_stores_a_mail_once_per_mailbox_and_answers_each_recipient(lmtp: Receiving) -> None:
    to = ["support@shop.example", "Support+Orders@shop.example", "sales@shop.example"]
    replies = lmtp_send(lmtp.port, mail().as_bytes(), to)
    assert codes(replies) == dict.fromkeys(to, 250)
    assert lmtp_send(lmtp.port, mail().as_bytes(), ["sales@shop.example"]) == {
        "sales@shop.example": (250, b"2.0.0 Message accepted for delivery")
    }  # the mail server delivered again after a lost answer
    stored = lmtp.stored()
    assert len(stored) == 2 and {key for _box, key, _status in stored} == {"<order-1042@customer.example>"}
    assert len(lmtp.jobs()) == 2


def test_lmtp_refuses_unknown_recipients_at_rcpt(lmtp: Receiving) -> None:
    replies = lmtp_send(lmtp.port, mail().as_bytes(), ["nobody@shop.example", "support@shop.example"])
    assert codes(replies) == {"nobody@shop.example": 550, "support@shop.example": 250}
    assert len(lmtp.stored()) == 1


@contextmanager
def refusing_mail_for(db: Database, mailbox_id: int) -> Iterator[None]:
    """The database fails to store one mailbox's mail (as a full disk or a broken index would)."""
    statements = (
        [
            "CREATE FUNCTION refuse_mail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'could not extend file'; END $$",
            "CREATE TRIGGER refuse_mail BEFORE INSERT ON inbound_emails FOR EACH ROW "
            f"WHEN (NEW.mailbox_id = {mailbox_id}) EXECUTE FUNCTION refuse_mail()",
        ]
        if not db.is_sqlite
        else [
            f"CREATE TRIGGER refuse_mail BEFORE INSERT ON inbound_emails WHEN NEW.mailbox_id = {mailbox_id} "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        ]
    )
    with db.write() as session:
        for statement in statements:
            session.execute(sa.text(statement))
    try:
        yield
    finally:
        with db.write() as session:
            if db.is_sqlite:
                session.execute(sa.text("DROP TRIGGER refuse_mail"))
            else:
                session.execute(sa.text("DROP TRIGGER refuse_mail ON inbound_emails"))
                session.execute(sa.text("DROP FUNCTION refuse_mail()"))


def test_lmtp_answers_451_for_the_one_mailbox_whose_store_failed(lmtp: Receiving) -> None:
    with lmtp.db.read() as session:
        ids = {address: box for address, box in session.execute(sa.select(Mailbox.address, Mailbox.id))}
    support, sales = ids["support@shop.example"], ids["sales@shop.example"]
    with refusing_mail_for(lmtp.db, sales):
        replies = lmtp_send(lmtp.port, mail().as_bytes(), ["sales@shop.example", "support@shop.example"])
    assert codes(replies) == {"sales@shop.example": 451, "support@shop.example": 250}
    assert [box for box, _key, _status in lmtp.stored()] == [support]

    # The mail server retries the one recipient that was refused for now: it is stored too.
    assert codes(lmtp_send(lmtp.port, mail().as_bytes(), ["sales@shop.example"])) == {"sales@shop.example": 250}
    assert [box for box, _key, _status in lmtp.stored()] == [support, sales]
    assert len(lmtp.jobs()) == 2


def test_lmtp_refuses_a_mail_over_the_size_limit_for_every_recipient(lmtp: Receiving) -> None:
    big = mail()
    big.set_content("It has not arrived yet.\n" * 100_000)
    to = ["support@shop.example", "sales@shop.example"]
    # Without SIZE in MAIL FROM, as a client that does not declare it: the refusal comes after DATA.
    replies: Replies = {}
    with smtplib.LMTP("127.0.0.1", lmtp.port, timeout=10) as client:
        client.ehlo()
        client.mail("anna@customer.example")
        for address in to:
            assert client.rcpt(address)[0] == 250
        replies[to[0]] = client.data(big.as_bytes(policy=email.policy.SMTP))
        replies[to[1]] = client.getreply()
        assert client.noop()[0] == 250
    assert codes(replies) == dict.fromkeys(to, 552), replies
    assert lmtp.stored() == []
