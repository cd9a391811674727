"""IMAP IDLE against a real Dovecot: new mail queues its fetch at once, polling stays the fallback.

Mail tests run once (on PostgreSQL when configured).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.channels.email import imap, mailboxes
from okno.channels.email.imap_idle import IdleSupervisor, MailboxWatcher, announces_mail, supports_idle
from okno.channels.email.models import Mailbox
from okno.config import Settings
from okno.crypto import Sealer
from okno.db import Database, make_engine
from okno.jobs.models import Job
from okno.runtime import Runtime
from okno.tickets.models import Ticket
from tests import databases
from tests.channels.dovecot import Dovecot, dovecot_server
from tests.channels.test_imap import SECRET, customer_mail, imap_mailbox
from tests.served import OKNO, free_port, okno_env, run, serving

FAST_REFRESH = 0.2


@dataclass
class IdleDesk:
    runtime: Runtime
    server: Dovecot
    mailbox_id: int

    @property
    def db(self) -> Database:
        return self.runtime.db

    def supervisor(self, **options: float) -> IdleSupervisor:
        supervisor = IdleSupervisor(self.db, Sealer(SECRET), refresh_seconds=FAST_REFRESH, **options)
        supervisor.start()
        return supervisor

    def watcher(self, supervisor: IdleSupervisor, mailbox_id: int | None = None) -> MailboxWatcher:
        mailbox_id = mailbox_id or self.mailbox_id
        wait_for(lambda: mailbox_id in supervisor.watchers, "a watcher for the mailbox")
        return supervisor.watchers[mailbox_id]

    def idling(self, supervisor: IdleSupervisor) -> MailboxWatcher:
        watcher = self.watcher(supervisor)
        assert watcher.idling.wait(20), "the watcher never entered IDLE"
        return watcher

    def tickets(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0)

    def fetch_jobs(self) -> list[tuple[str, str]]:
        with self.db.read() as session:
            rows = session.execute(
                sa.select(Job.idempotency_key, Job.status).where(Job.name == imap.FETCH_JOB).order_by(Job.id)
            )
            return [(str(key), str(status)) for key, status in rows]

    def set_mailbox(self, **values: object) -> None:
        with self.db.write() as session:
            session.execute(sa.update(Mailbox).where(Mailbox.id == self.mailbox_id).values(**values))


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20) -> float:
    """Seconds it took for ``condition`` to hold."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def idle_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("okno-imap-idle")]


def make_desk(template: databases.Template, tmp_path: Path, server: Dovecot) -> IdleDesk:
    url = template.fresh_url(tmp_path)
    settings = Settings(database_url=url, data_dir=tmp_path / "data", secret_key=SECRET, embedded_worker=False)
    runtime = Runtime.build(settings, db=Database(make_engine(url)))
    with runtime.db.write() as session:
        box = mailboxes.add_mailbox(
            session, Actor.system("tests"), data=imap_mailbox(server, 25), sealer=Sealer(SECRET)
        )
        return IdleDesk(runtime, server, box.id)


@pytest.fixture
def server() -> Iterator[Dovecot]:
    with dovecot_server() as dovecot:
        yield dovecot


@pytest.fixture
def desk(served_template: databases.Template, tmp_path: Path, server: Dovecot) -> Iterator[IdleDesk]:
    desk = make_desk(served_template, tmp_path, server)
    yield desk
    desk.runtime.close()


@pytest.mark.parametrize(
    ("capability", "idle"),
    [
        (b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+", True),
        (b"IMAP4rev1 idle", True),
        (b"IMAP4rev1 LITERAL+ UIDPLUS", False),
        (b"IMAP4rev1 X-IDLE-LIKE", False),
        (b"", False),
    ],
)
def test_idle_is_used_only_where_the_server_lists_it(capability: bytes, idle: bool) -> None:
    assert supports_idle(capability) is idle


@pytest.mark.parametrize(
    ("line", "news"),
    [
        (b"* 12 EXISTS", True),
        (b"* 3 RECENT", True),
        (b"* 2 exists", True),
        (b"* 4 EXPUNGE", False),
        (b"* 4 FETCH (FLAGS (\\Seen))", False),
        (b"* OK Still here", False),
        (b"+ idling", False),
    ],
)
def test_what_counts_as_new_mail(line: bytes, news: bool) -> None:
    assert announces_mail(line) is news


def test_new_mail_is_queued_and_fetched_at_once_without_a_poll(desk: IdleDesk) -> None:
    supervisor = desk.supervisor()
    try:
        desk.idling(supervisor)
        # Long after the last poll, so only IDLE can make the fetch happen now.
        desk.set_mailbox(last_fetch_at=desk.db.clock.now())
        worker = desk.runtime.worker.start_thread(poll_seconds=0.2)
        started = time.monotonic()
        desk.server.deliver(customer_mail("<idle-1@customer.example>"))
        wait_for(lambda: desk.tickets() == 1, "the ticket", timeout=15)
        elapsed = time.monotonic() - started
        jobs = desk.fetch_jobs()
        assert [status for key, status in jobs if key.startswith("imap-idle:")] == ["done"], jobs
        assert any(re.fullmatch(rf"imap-idle:{desk.mailbox_id}:[1-9]\d*:1", key) for key, _status in jobs), jobs
        assert not any(key.startswith("imap-fetch:") for key, _status in jobs)
        print(f"IDLE: mail appended to ticket filed in {elapsed:.2f} s")

        # A burst: every mail is filed, and the queued fetches are fewer than or as many as the mails.
        for number in range(2, 6):
            desk.server.deliver(customer_mail(f"<idle-{number}@customer.example>", subject=f"Question {number}"))
        wait_for(lambda: desk.tickets() == 5, "the burst's tickets", timeout=20)
        assert len([key for key, _status in desk.fetch_jobs() if key.startswith("imap-idle:")]) <= 5
        assert all("\\Seen" in flags for flags in desk.server.flags())
    finally:
        supervisor.stop()
        desk.runtime.worker.stop()
    worker.join(5)


def test_idle_is_renewed_and_still_hears_new_mail(desk: IdleDesk) -> None:
    supervisor = desk.supervisor(renew_seconds=0.3)
    try:
        watcher = desk.idling(supervisor)
        time.sleep(1)  # a few renewals: DONE, then IDLE again on the same connection
        assert watcher.is_alive() and watcher.idling.wait(2)
        desk.server.deliver(customer_mail("<idle-renewed@customer.example>"))
        wait_for(lambda: desk.fetch_jobs(), "a queued fetch", timeout=15)
    finally:
        supervisor.stop()
    assert "Logged out" in desk.server.log()


def test_the_supervisor_follows_the_mailboxes_and_stops_cleanly(desk: IdleDesk) -> None:
    supervisor = desk.supervisor()
    first = desk.idling(supervisor)
    desk.set_mailbox(is_active=False)
    wait_for(lambda: desk.mailbox_id not in supervisor.watchers and not first.is_alive(), "the watcher to stop")

    desk.set_mailbox(is_active=True)
    again = desk.idling(supervisor)
    assert again is not first
    with desk.db.write() as session:  # the admin changes the password: the watcher starts afresh
        box = session.get(Mailbox, desk.mailbox_id)
        assert box is not None
        box.imap_password_sealed = Sealer(SECRET).seal(desk.server.password)
    wait_for(lambda: supervisor.watchers.get(desk.mailbox_id) not in (None, again), "a new watcher")
    assert not again.is_alive()

    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 10
    assert idle_threads() == []


def test_one_process_watches_and_another_takes_over_when_it_stops(desk: IdleDesk) -> None:
    first, second = desk.supervisor(), desk.supervisor()
    try:
        wait_for(lambda: first.holds_lock or second.holds_lock, "a holder of the IDLE lock")
        holder, other = (first, second) if first.holds_lock else (second, first)
        desk.idling(holder)
        time.sleep(3 * FAST_REFRESH)
        assert not other.holds_lock and other.watchers == {}

        holder.stop()
        desk.idling(other)
        desk.server.deliver(customer_mail("<idle-takeover@customer.example>"))
        wait_for(lambda: desk.fetch_jobs(), "a queued fetch", timeout=15)
    finally:
        first.stop()
        second.stop()


def test_a_refused_login_is_recorded_on_the_mailbox_and_tried_again(desk: IdleDesk) -> None:
    desk.set_mailbox(imap_password_sealed=Sealer(SECRET).seal("wrong password"))
    supervisor = desk.supervisor()
    try:
        wait_for(lambda: (desk_error(desk) or "").find("refused the login") >= 0, "the error on the mailbox")
        watcher = desk.watcher(supervisor)
        assert watcher.is_alive() and not watcher.idling.is_set()  # waiting to try again
    finally:
        supervisor.stop()


def desk_error(desk: IdleDesk) -> str | None:
    with desk.db.read() as session:
        box = session.get(Mailbox, desk.mailbox_id)
        return box.last_fetch_error if box else None


def test_a_server_without_idle_is_left_to_polling(served_template: databases.Template, tmp_path: Path) -> None:
    with dovecot_server(capability="IMAP4rev1 LITERAL+ UIDPLUS") as plain:
        desk = make_desk(served_template, tmp_path, plain)
        supervisor = desk.supervisor()
        try:
            watcher = desk.watcher(supervisor)
            wait_for(lambda: watcher.idle_unsupported, "the capability check")
            time.sleep(3 * FAST_REFRESH)
            assert supervisor.watchers[desk.mailbox_id] is watcher and not watcher.is_alive()  # not asked again

            plain.deliver(customer_mail("<polled@customer.example>"))
            time.sleep(1)
            assert desk.fetch_jobs() == []
            with desk.db.write() as session:
                imap.fetch_batch(session, desk.mailbox_id, Sealer(SECRET))
            desk.runtime.worker.run_pending()
            assert desk.tickets() == 1
        finally:
            supervisor.stop()
            desk.runtime.close()


def test_an_unreachable_server_does_not_hold_up_stopping(desk: IdleDesk) -> None:
    desk.set_mailbox(imap_port=free_port())
    supervisor = desk.supervisor()
    watcher = desk.watcher(supervisor)
    wait_for(lambda: desk_error(desk), "the connection error")
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 5 and not watcher.is_alive()


def open_sessions(server: Dovecot) -> set[str]:
    """Dovecot's sessions logged in and not yet disconnected, from its log."""
    log = server.log()
    started = set(re.findall(r"Login: user=<[^>]*>.*session=<([^>]+)>", log))
    ended = set(re.findall(r"<\d+><([^>]+)>: Info: Disconnected", log))
    return started - ended


def test_okno_serve_and_a_worker_hold_one_idle_connection_between_them(
    served_template: databases.Template, tmp_path: Path, server: Dovecot
) -> None:
    url = served_template.fresh_url(tmp_path)
    env = okno_env(url, tmp_path / "data", OKNO_IMAP_POLL_SECONDS="600")  # no poll during the test
    added = run(
        env, "mailbox", "add", "--address", "support@shop.example", "--receiving", "imap",
        "--imap-host", server.host, "--imap-port", str(server.port), "--imap-security", "none",
        "--imap-username", server.user, "--imap-password", server.password,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    engine = make_engine(url)
    db = Database(engine)

    def polled() -> bool:
        with db.read() as session:
            return session.scalar(sa.select(Mailbox.last_fetch_at)) is not None

    def tickets() -> int:
        with db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0)

    worker: subprocess.Popen[bytes] | None = None
    try:
        with serving(env, start_timeout=90) as (_base, serve):
            worker = subprocess.Popen([OKNO, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert worker.stdout is not None and b"running" in worker.stdout.readline()  # its signals are handled
            # The first poll is done and its connection closed; what stays open is the one watcher.
            wait_for(lambda: polled() and len(open_sessions(server)) == 1, "the first poll and one IDLE connection")
            time.sleep(0.5)
            assert len(open_sessions(server)) == 1, server.log()
            server.deliver(customer_mail("<served-idle@customer.example>"))
            took = wait_for(lambda: tickets() == 1, "the ticket", timeout=15)
            print(f"okno serve + worker: mail appended to ticket filed in {took:.2f} s")
            [watching] = open_sessions(server)
            serve.send_signal(signal.SIGTERM)
            worker.send_signal(signal.SIGTERM)
            assert serve.wait(20) == 0 and worker.wait(20) == 0
        assert open_sessions(server) == set()
        assert re.search(rf"<{re.escape(watching)}>: Info: Disconnected: Logged out", server.log())
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        engine.dispose()
