"""IMAP IDLE (RFC 2177): new mail in an IMAP mailbox is fetched within a second or two of arriving.

Polling stays: it covers servers without IDLE, notifications missed while a connection was down,
and mail that arrived before the watcher connected. IDLE only makes the same fetch job
(``channels.email.fetch_imap``) run sooner, so everything the fetch guarantees (stored once,
marked seen after the commit) holds for mail that IDLE announced too.

``IdleSupervisor`` runs in ``okno serve`` and in every ``okno worker``, but only the one holding
the installation-wide lock ``imap-idle`` (``Database.try_hold``) watches: one IDLE connection
per mailbox for the whole installation, not one per process, since servers limit connections
per account. The others try to take the lock over every refresh, so when the holder dies
another process watches within about ``REFRESH_SECONDS``. The holder re-reads the mailboxes as
often, starting a ``MailboxWatcher`` for each active IMAP mailbox, stopping the watchers of
mailboxes switched off, deleted or moved to SMTP, and restarting those whose server or
credentials changed.

A watcher logs in, checks CAPABILITY for IDLE (without it, it leaves the mailbox to polling),
and idles: ``IDLE``, wait for ``+``, read untagged lines until ``* n EXISTS`` or ``* n RECENT``
says mail arrived (or 25 minutes passed: a server may log out a client silent for 30, so RFC
2177 has clients renew IDLE at least every 29), ``DONE``.
On news it asks for the highest UID and queues the fetch under the key
``imap-idle:<mailbox>:<uidvalidity>:<uid>``: a burst of notifications for the same mail, or
another process that watches the same mailbox, queues it once, while any later mail has a
higher UID and so a fetch of its own. A connection that fails is opened again after a back-off
(5 s doubling to 5 min); a server that refuses the login is recorded on the mailbox as polling
records it.

Python 3.11's imaplib has no IDLE: the command goes out with ``IMAP4.send`` and the answers are
read from the socket here, with ``poll`` and a deadline, since a timeout on imaplib's own
buffered reader would leave it unusable.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from itertools import count

from okno.channels.email import imap
from okno.channels.email.imap import FetchFailed, ImapAccount
from okno.channels.email.models import Mailbox
from okno.config import Settings
from okno.crypto import Sealer
from okno.db import Database, HeldLock
from okno.jobs.registry import enqueue

log = logging.getLogger(__name__)

LOCK_NAME = "imap-idle"
REFRESH_SECONDS = 30.0
RENEW_SECONDS = 25 * 60.0
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0
BURST_SECONDS = 0.1  # after news, what else arrives this soon is part of the same fetch
MAX_BURST_SECONDS = 2.0
MAX_LINE = 64 * 1024

_NEWS = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
_FETCHED_UID = re.compile(rb"^\* \d+ FETCH \(.*\bUID (\d+)", re.IGNORECASE)


class IdleFailed(Exception):
    """The server broke off or refused IDLE; the watcher connects again after a pause."""


def supports_idle(capability_response: bytes) -> bool:
    """Whether a CAPABILITY response lists IDLE (atoms are case-insensitive, RFC 3501 section 9)."""
    return b"IDLE" in capability_response.upper().split()


def announces_mail(line: bytes) -> bool:
    """``* 12 EXISTS`` or ``* 3 RECENT``: the folder got messages (flag changes and expunges do not count)."""
    return _NEWS.match(line) is not None


class _Lines:
    """Lines from the socket with a deadline, never blocking past it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        # poll(), not select(): a busy process may have file descriptors beyond select()'s 1024.
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)

    def next(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readable(remaining):
                return None
            chunk = self.sock.recv(4096)
            if not chunk:
                raise IdleFailed("the server closed the connection")
            self.buffer += chunk
            if len(self.buffer) > MAX_LINE:
                raise IdleFailed("the server sent an overlong line")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def _readable(self, timeout: float) -> bool:
        # TLS may hold decrypted bytes that poll() cannot see.
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return bool(self.poller.poll(max(int(timeout * 1000), 1)))


class IdleConnection:
    """One logged-in connection with its folder selected, used for IDLE alone."""

    def __init__(self, client: imaplib.IMAP4) -> None:
        self.client = client
        # Read through imaplib while it was in charge; from here on nothing is left in its buffer,
        # as servers send nothing between a command's completion and the next command.
        status, data = client.capability()
        self.capabilities = b" ".join(item for item in data if isinstance(item, bytes)) if status == "OK" else b""
        validity = client.response("UIDVALIDITY")[1]
        self.uidvalidity = validity[0].decode() if validity and isinstance(validity[0], bytes) else "0"
        self.lines = _Lines(client.sock)
        self._tags = count(1)

    def idle(self, stop: threading.Event, renew_seconds: float, idling: threading.Event) -> bool:
        """Idles until mail arrives (True), or until stopped or due for renewal (False); ``idling`` while it does."""
        tag = self._send("IDLE")
        news = False
        while True:
            line = self._expect()
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                raise IdleFailed(f"the server refused IDLE: {line.decode(errors='replace')}")
            news = self._note(line) or news
        idling.set()
        renew_at = time.monotonic() + renew_seconds
        while not news and not stop.is_set() and time.monotonic() < renew_at:
            waited = self.lines.next(min(1.0, max(renew_at - time.monotonic(), 0.0)))
            news = waited is not None and self._note(waited)
        burst_ends = time.monotonic() + MAX_BURST_SECONDS
        while news and time.monotonic() < burst_ends and (more := self.lines.next(BURST_SECONDS)) is not None:
            self._note(more)
        idling.clear()
        self.client.send(b"DONE\r\n")
        # Mail may also be announced between DONE and the end of the command.
        return any([news, *map(announces_mail, self._until_done(tag))])

    def highest_uid(self) -> int | None:
        """The UID of the folder's newest message (None when it is empty)."""
        tag = self._send("UID FETCH * (UID)")
        found: int | None = None
        for line in self._until_done(tag):
            match = _FETCHED_UID.match(line)
            if match:
                found = max(found or 0, int(match.group(1)))
        return found

    def _send(self, command: str) -> bytes:
        tag = f"okno{next(self._tags)}".encode()
        self.client.send(tag + b" " + command.encode() + b"\r\n")
        return tag

    def _expect(self) -> bytes:
        line = self.lines.next(imap.IMAP_TIMEOUT_SECONDS)
        if line is None:
            raise IdleFailed("the server did not answer")
        return line

    def _note(self, line: bytes) -> bool:
        if line.upper().startswith(b"* BYE"):
            raise IdleFailed(f"the server ended the connection: {line.decode(errors='replace')}")
        return announces_mail(line)

    def _until_done(self, tag: bytes) -> list[bytes]:
        """The untagged lines up to the command's completion, which must be OK."""
        untagged = []
        while not (line := self._expect()).startswith(tag + b" "):
            self._note(line)
            untagged.append(line)
        if not line[len(tag) + 1 :].upper().startswith(b"OK"):
            raise IdleFailed(line.decode(errors="replace"))
        return untagged


class MailboxWatcher:
    """Keeps one mailbox in IDLE in a thread of its own, and queues its fetch when mail arrives."""

    def __init__(self, db: Database, account: ImapAccount, sealer: Sealer, *, renew_seconds: float) -> None:
        self.db = db
        self.account = account
        self.sealer = sealer
        self.renew_seconds = renew_seconds
        self.idle_unsupported = False
        self.idling = threading.Event()  # set while the server would announce new mail at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"okno-imap-idle-{account.mailbox_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        pause = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            try:
                if not self._watch():
                    return
                pause = FIRST_RETRY_SECONDS
            except FetchFailed as exc:
                log.warning("IMAP IDLE for %s: %s", self.account.address, exc)
                self._record(str(exc))
            except (OSError, imaplib.IMAP4.error, IdleFailed) as exc:
                log.warning("IMAP IDLE for %s broke off (%s); connecting again", self.account.address, exc)
            except Exception:
                log.exception("IMAP IDLE for %s failed; connecting again", self.account.address)
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, MAX_RETRY_SECONDS)

    def _watch(self) -> bool:
        """Idles until stopped (True) or until it turns out the server has no IDLE (False)."""
        client = imap.connect(self.account, self.sealer)
        try:
            connection = IdleConnection(client)
            if not supports_idle(connection.capabilities):
                self.idle_unsupported = True
                log.info("%s has no IMAP IDLE; its mail is fetched by polling alone", self.account.address)
                return False
            log.info("IMAP IDLE for %s", self.account.address)
            while not self._stop.is_set():
                if connection.idle(self._stop, self.renew_seconds, self.idling):
                    self._queue_fetch(connection.uidvalidity, connection.highest_uid())
            return True
        finally:
            self.idling.clear()
            imap.close(client)

    def _queue_fetch(self, uidvalidity: str, uid: int | None) -> None:
        if uid is None:
            return  # the folder is empty again: nothing to fetch
        mailbox_id = self.account.mailbox_id
        with self.db.write() as session:
            enqueue(
                session, imap.FETCH_JOB, {"mailbox_id": mailbox_id}, key=f"imap-idle:{mailbox_id}:{uidvalidity}:{uid}"
            )

    def _record(self, error: str) -> None:
        with self.db.write() as session:
            mailbox = session.get(Mailbox, self.account.mailbox_id)
            if mailbox is not None:
                mailbox.last_fetch_error = error[:2000]


class IdleSupervisor:
    """Runs the watchers of every active IMAP mailbox while this process holds the IDLE lock."""

    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.db = db
        self.sealer = sealer
        self.refresh_seconds = refresh_seconds
        self.renew_seconds = renew_seconds
        self.watchers: dict[int, MailboxWatcher] = {}
        self._lock: HeldLock | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="okno-imap-idle", daemon=True)

    @property
    def holds_lock(self) -> bool:
        return self._lock is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._refresh()
                except Exception:
                    log.exception("could not refresh the IMAP IDLE watchers")
                self._stop.wait(self.refresh_seconds)
        finally:
            self._stop_watchers(list(self.watchers))
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _refresh(self) -> None:
        if self._lock is not None and not self._lock.held():
            log.warning("lost the IMAP IDLE lock; stopping the watchers")
            self._stop_watchers(list(self.watchers))
            self._lock.release()
            self._lock = None
        if self._lock is None:
            self._lock = self.db.try_hold(LOCK_NAME)
            if self._lock is None:
                return  # another process watches
        with self.db.read() as session:
            wanted = {account.mailbox_id: account for account in imap.active_accounts(session)}
        self._stop_watchers(
            [mailbox_id for mailbox_id, watcher in self.watchers.items() if wanted.get(mailbox_id) != watcher.account]
        )
        for mailbox_id, account in wanted.items():
            current = self.watchers.get(mailbox_id)
            if current is not None and (current.is_alive() or current.idle_unsupported):
                continue  # a server without IDLE is asked again only when its settings change
            watcher = MailboxWatcher(self.db, account, self.sealer, renew_seconds=self.renew_seconds)
            self.watchers[mailbox_id] = watcher
            watcher.start()

    def _stop_watchers(self, mailbox_ids: list[int]) -> None:
        stopping = [self.watchers.pop(mailbox_id) for mailbox_id in mailbox_ids]
        for watcher in stopping:
            watcher.stop()
        # A watcher stops within a second while idling; one still connecting takes at most the
        # IMAP timeout, and is a daemon thread that ends with the process in any case.
        deadline = time.monotonic() + imap.IMAP_TIMEOUT_SECONDS
        for watcher in stopping:
            watcher.join(timeout=max(deadline - time.monotonic(), 0.1))


@contextlib.contextmanager
def watching(db: Database, settings: Settings) -> Iterator[None]:
    """The supervisor of this process while the block runs (none with ``OKNO_IMAP_IDLE=false``)."""
    if not settings.imap_idle:
        yield
        return
    supervisor = IdleSupervisor(db, Sealer(settings.resolved_secret_key()))
    supervisor.start()
    try:
        yield
    finally:
        supervisor.stop()
