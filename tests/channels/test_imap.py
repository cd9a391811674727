"""Receiving by IMAP against a real Dovecot: fetched, committed, then marked seen; once per mail.

Mail tests run once (on PostgreSQL when configured).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.channels.email import imap, mailboxes
from okno.channels.email.models import InboundEmail, Mailbox
from okno.channels.email.schemas import MailboxCreate
from okno.config import Settings
from okno.crypto import Sealer
from okno.db import Database, make_engine
from okno.jobs.registry import enqueue
from okno.runtime import Runtime
from okno.tickets.models import Message, Ticket
from tests import databases
from tests.channels.dovecot import DOVECOT, MISSING, Dovecot, dovecot_server
from tests.channels.mail_servers import Outbox, smtp_server
from tests.served import free_port, okno_env, run

SECRET = "imap-test-secret"


@dataclass
class ImapDesk:
    runtime: Runtime
    server: Dovecot
    outbox: Outbox
    mailbox_id: int

    def poll(self) -> None:
        """What the worker does every OKNO_IMAP_POLL_SECONDS: the poll job, then what it queued."""
        with self.runtime.db.write() as session:
            enqueue(session, imap.POLL_JOB)
        report = self.runtime.worker.run_pending()
        assert report.failed == 0

    def fetch(self) -> None:
        """A fetch of this mailbox now (a poll queues one per mailbox and period)."""
        with self.runtime.db.write() as session:
            enqueue(session, imap.FETCH_JOB, {"mailbox_id": self.mailbox_id})
        assert self.runtime.worker.run_pending().failed == 0

    def count(self, model: type[object]) -> int:
        with self.runtime.db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

    def mailbox(self) -> Mailbox:
        with self.runtime.db.read() as session:
            box = session.get(Mailbox, self.mailbox_id)
            assert box is not None
            return box


@pytest.fixture
def server() -> Iterator[Dovecot]:
    if DOVECOT is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    with dovecot_server() as dovecot:
        yield dovecot


@pytest.fixture
def desk(served_template: databases.Template, tmp_path: Path, server: Dovecot) -> Iterator[ImapDesk]:
    url = served_template.fresh_url(tmp_path)
    settings = Settings(database_url=url, data_dir=tmp_path / "data", secret_key=SECRET, embedded_worker=False)
    engine = make_engine(url)
    runtime = Runtime.build(settings, db=Database(engine))
    with smtp_server() as (smtp_port, outbox):
        with runtime.db.write() as session:
            box = mailboxes.add_mailbox(
                session, Actor.system("tests"), data=imap_mailbox(server, smtp_port), sealer=Sealer(SECRET)
            )
            mailbox_id = box.id
        yield ImapDesk(runtime, server, outbox, mailbox_id)
    runtime.close()


def imap_mailbox(
    server: Dovecot, smtp_port: int, *, password: str | None = None, address: str = "support@shop.example"
) -> MailboxCreate:
    return MailboxCreate(
        address=address,
        display_name="Shop support",
        receiving="imap",
        imap_host=server.host,
        imap_port=server.port,
        imap_security="none",
        imap_username=server.user,
        imap_password=password or server.password,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
    )


def customer_mail(message_id: str, subject: str = "Where is my order?") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna <anna@customer.example>"
    mail["To"] = "support@shop.example"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail.set_content("Hello, my order 1042 has not arrived yet. Could you check where it is, please?")
    return mail.as_bytes()


def test_mail_in_the_imap_box_becomes_a_ticket_and_is_marked_seen(desk: ImapDesk) -> None:
    desk.server.deliver(customer_mail("<imap-1@customer.example>"))
    desk.server.deliver(customer_mail("<imap-2@customer.example>", subject="And a second question"))
    assert all("\\Seen" not in flags for flags in desk.server.flags())
    desk.poll()
    assert desk.count(Ticket) == 2
    with desk.runtime.db.read() as session:
        ids = set(session.scalars(sa.select(Message.external_id)))
        sources = set(session.scalars(sa.select(InboundEmail.source)))
    assert ids >= {"<imap-1@customer.example>", "<imap-2@customer.example>"} and sources == {"imap"}
    assert all("\\Seen" in flags for flags in desk.server.flags())
    box = desk.mailbox()
    assert box.last_fetch_at is not None and box.last_fetch_error is None
    # The customer got an acknowledgement of each new ticket.
    assert {m["Subject"].split(" [#")[0] for _r, m in desk.outbox.wait_for(2)} == {
        "Re: Where is my order?",
        "Re: And a second question",
    }

    desk.fetch()  # nothing new
    assert desk.count(InboundEmail) == 2


def test_a_crash_between_the_commit_and_the_seen_flag_stores_the_mail_once(desk: ImapDesk) -> None:
    desk.server.deliver(customer_mail("<imap-crash@customer.example>"))
    with desk.runtime.db.write() as session:
        fetched = imap.fetch_batch(session, desk.mailbox_id, Sealer(SECRET))
    assert (fetched.stored, fetched.duplicates) == (1, 0)
    assert "\\Seen" in desk.server.flags()[0]  # only after the commit
    desk.server.mark_all_unseen()  # the process died before STORE \Seen reached the server

    with desk.runtime.db.write() as session:
        again = imap.fetch_batch(session, desk.mailbox_id, Sealer(SECRET))
    assert (again.stored, again.duplicates) == (0, 1)
    assert desk.count(InboundEmail) == 1
    assert "\\Seen" in desk.server.flags()[0]
    desk.runtime.worker.run_pending()
    assert desk.count(Ticket) == 1


def test_a_rolled_back_fetch_leaves_the_mail_unseen(desk: ImapDesk) -> None:
    desk.server.deliver(customer_mail("<imap-rollback@customer.example>"))
    with pytest.raises(RuntimeError), desk.runtime.db.write() as session:
        imap.fetch_batch(session, desk.mailbox_id, Sealer(SECRET))
        raise RuntimeError("the database went away before the commit")
    assert "\\Seen" not in desk.server.flags()[0]
    assert desk.count(InboundEmail) == 0
    desk.poll()
    assert desk.count(Ticket) == 1 and "\\Seen" in desk.server.flags()[0]


def test_a_refused_login_is_recorded_on_the_mailbox_and_the_worker_goes_on(desk: ImapDesk) -> None:
    desk.server.deliver(customer_mail("<imap-after-fix@customer.example>"))
    with desk.runtime.db.write() as session:
        box = session.get(Mailbox, desk.mailbox_id)
        assert box is not None
        box.imap_password_sealed = Sealer(SECRET).seal("wrong password")
        down = mailboxes.add_mailbox(
            session,
            Actor.system("tests"),
            data=imap_mailbox(desk.server, 25, address="sales@shop.example").model_copy(
                update={"imap_port": free_port()}
            ),
            sealer=Sealer(SECRET),
        ).id
    desk.poll()  # no job failed: the mailboxes' problems are recorded on them
    box = desk.mailbox()
    assert box.last_fetch_at is not None
    assert box.last_fetch_error is not None and "refused the login" in box.last_fetch_error
    with desk.runtime.db.read() as session:
        unreachable = session.get(Mailbox, down)
        assert unreachable is not None and unreachable.last_fetch_error is not None
        assert "Could not connect" in unreachable.last_fetch_error
    assert desk.count(InboundEmail) == 0 and "\\Seen" not in desk.server.flags()[0]

    # The admin enters the right password; the next poll fetches the mail and clears the error.
    with desk.runtime.db.write() as session:
        box = session.get(Mailbox, desk.mailbox_id)
        assert box is not None
        box.imap_password_sealed = Sealer(SECRET).seal(desk.server.password)
    desk.fetch()
    assert desk.count(Ticket) == 1 and desk.mailbox().last_fetch_error is None


def test_okno_mailbox_fetch_from_the_command_line(
    served_template: databases.Template, tmp_path: Path, server: Dovecot
) -> None:
    env = okno_env(served_template.fresh_url(tmp_path), tmp_path / "data")
    added = run(
        env, "mailbox", "add", "--address", "support@shop.example", "--receiving", "imap",
        "--imap-host", server.host, "--imap-port", str(server.port), "--imap-security", "none",
        "--imap-username", server.user, "--imap-password", server.password,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    server.deliver(customer_mail("<cli-1@customer.example>"))
    fetched = run(env, "mailbox", "fetch", "--address", "Support@shop.example")
    assert fetched.returncode == 0, fetched.stderr
    assert "support@shop.example: 1 new, 0 stored already" in fetched.stdout
    assert "\\Seen" in server.flags()[0]
    assert run(env, "jobs", "run").returncode == 0
    listed = run(env, "mailbox", "quarantine")
    assert listed.returncode == 0 and listed.stdout == ""

    refused = run(env, "mailbox", "fetch", "--address", "nobody@shop.example")
    assert refused.returncode != 0 and "no active IMAP mailbox" in refused.stderr
