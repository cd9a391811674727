"""Receiving by IMAP: new mail is fetched, committed, and only then marked seen on the server.

A periodic job (``channels.email.poll_imap``) queues one fetch job per mailbox every
``OKNO_IMAP_POLL_SECONDS``; ``okno mailbox fetch`` runs the same fetch at once, and so does the
IDLE watcher (``imap_idle``) as soon as a server that offers IDLE announces new mail. Polling
stays the safety net under IDLE: servers without it, notifications missed while a connection
was down.

One fetch is one unit of work over a small batch: the UNSEEN messages are read with
``BODY.PEEK[]`` (which leaves them unseen), each raw mail goes through ``intake.store_raw``,
and the ``\\Seen`` flag is set only after the transaction commits. A crash in between leaves
them unseen: the next fetch reads them again and the per-mailbox Message-ID key makes the
store a no-op. The IMAP UID is never the key (UIDVALIDITY changes, and copies get new UIDs).

A server that is down or refuses the login is the mailbox's state, not the worker's failure:
the error and the time are recorded on the mailbox for the admin page, and the job ends.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.channels.email import intake
from okno.channels.email.models import Mailbox, Receiving, Security
from okno.crypto import Sealer
from okno.db import on_commit, utcnow
from okno.errors import Invalid

log = logging.getLogger(__name__)

POLL_JOB = "channels.email.poll_imap"
FETCH_JOB = "channels.email.fetch_imap"
BATCH = 25
MAX_BATCHES_PER_POLL = 40  # a mailbox with a huge backlog is drained over several polls
IMAP_TIMEOUT_SECONDS = 30


class FetchFailed(Exception):
    """The server could not be reached or refused us; the text is shown to admins."""


@dataclass
class Fetched:
    stored: int = 0
    duplicates: int = 0
    more: bool = False  # unseen mail is left beyond this batch
    error: str | None = None
    uids: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class ImapAccount:
    """What it takes to reach a mailbox's IMAP folder, read from its row (equal while nothing changed)."""

    mailbox_id: int
    address: str
    host: str | None
    port: int | None
    security: Security
    username: str | None
    password_sealed: str | None
    folder: str

    @classmethod
    def of(cls, mailbox: Mailbox) -> ImapAccount:
        return cls(
            mailbox_id=mailbox.id,
            address=mailbox.address,
            host=mailbox.imap_host,
            port=mailbox.imap_port,
            security=Security(mailbox.imap_security),
            username=mailbox.imap_username,
            password_sealed=mailbox.imap_password_sealed,
            folder=mailbox.imap_folder,
        )


def active_accounts(session: Session) -> list[ImapAccount]:
    """Every active mailbox that receives by IMAP."""
    rows = session.scalars(
        sa.select(Mailbox).where(Mailbox.is_active.is_(True), Mailbox.receiving == Receiving.imap).order_by(Mailbox.id)
    )
    return [ImapAccount.of(mailbox) for mailbox in rows]


def due_mailboxes(session: Session, every_seconds: int) -> list[int]:
    """Active IMAP mailboxes not asked within the polling period."""
    now = utcnow(session)
    rows = session.execute(
        sa.select(Mailbox.id, Mailbox.last_fetch_at)
        .where(Mailbox.is_active.is_(True), Mailbox.receiving == Receiving.imap)
        .order_by(Mailbox.id)
    )
    return [
        mailbox_id
        for mailbox_id, last in rows
        if last is None or (now - last).total_seconds() >= every_seconds - 5  # slack for the scheduler's jitter
    ]


def fetch_batch(session: Session, mailbox_id: int, sealer: Sealer, *, batch: int = BATCH) -> Fetched:
    """Stores up to ``batch`` unseen mails of the mailbox; they are marked seen after the commit."""
    # Locked: two workers fetching one mailbox at once would only store duplicates (no-ops), but
    # waiting is cheaper than fetching everything twice.
    mailbox = session.get(Mailbox, mailbox_id, with_for_update=True)
    result = Fetched()
    if mailbox is None or not mailbox.is_active or mailbox.receiving != Receiving.imap:
        return result
    mailbox.last_fetch_at = utcnow(session)
    client: imaplib.IMAP4 | None = None
    try:
        client = connect(ImapAccount.of(mailbox), sealer)
        uids = _unseen(client)
        result.more = len(uids) > batch
        for uid in uids[:batch]:
            raw = _fetch(client, uid)
            if raw is None:
                continue  # expunged meanwhile
            stored = intake.store_raw(session, mailbox_id=mailbox.id, raw=raw, source="imap")
            result.duplicates += stored.duplicate
            result.stored += not stored.duplicate
            result.uids.append(uid)
        mailbox.last_fetch_error = None
    except FetchFailed as exc:
        result.error = str(exc)
        result.more = False
        mailbox.last_fetch_error = result.error[:2000]
        log.warning("IMAP fetch for %s failed: %s", mailbox.address, result.error)
    except BaseException:
        close(client)  # the transaction rolls back: nothing stored, nothing to mark
        raise
    on_commit(session, _mark_seen_then_close(client, list(result.uids), mailbox.address))
    return result


def connect(account: ImapAccount, sealer: Sealer) -> imaplib.IMAP4:
    """Logged in, with the mailbox's folder selected; FetchFailed says why not, in words for admins."""
    host = account.host
    if not host:
        raise FetchFailed("No IMAP server is set for this mailbox.")
    port = account.port or (993 if account.security == Security.tls else 143)
    where = f"{host}:{port}"
    try:
        client: imaplib.IMAP4
        if account.security == Security.tls:
            client = imaplib.IMAP4_SSL(
                host, port, ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_SECONDS
            )
        else:
            client = imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT_SECONDS)
            if account.security == Security.starttls:
                client.starttls(ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise FetchFailed(f"Could not connect to {where}: {_text(exc)}") from exc
    try:
        password = sealer.unseal(account.password_sealed) if account.password_sealed else ""
        client.login(account.username or account.address, password)
    except Invalid as exc:
        close(client)
        raise FetchFailed(exc.message) from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        close(client)
        raise FetchFailed(f"{where} refused the login: {_text(exc)}") from exc
    try:
        status, detail = client.select(_quoted(account.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(_text(detail))
    except (OSError, imaplib.IMAP4.error) as exc:
        close(client)
        raise FetchFailed(f"Could not open the folder {account.folder!r} on {where}: {_text(exc)}") from exc
    return client


def _unseen(client: imaplib.IMAP4) -> list[bytes]:
    try:
        status, data = client.uid("SEARCH", "UNSEEN")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise FetchFailed(f"Searching for new mail failed: {_text(exc)}") from exc
    if status != "OK":
        raise FetchFailed(f"Searching for new mail failed: {_text(data)}")
    found = data[0] if data and isinstance(data[0], bytes) else b""
    return sorted(found.split(), key=int)  # oldest first, so tickets open in the order mail came


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    try:
        status, data = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise FetchFailed(f"Fetching message UID {uid.decode()} failed: {_text(exc)}") from exc
    if status != "OK":
        raise FetchFailed(f"Fetching message UID {uid.decode()} failed: {_text(data)}")
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None


def _mark_seen_then_close(client: imaplib.IMAP4 | None, uids: list[bytes], address: str) -> Callable[[], None]:
    def mark() -> None:
        if client is None:
            return
        try:
            if uids:
                client.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", r"(\Seen)")
        except (OSError, imaplib.IMAP4.error) as exc:
            # Stored already: the next fetch reads them again and finds them stored.
            log.warning("could not mark %s fetched mails seen in %s: %s", len(uids), address, exc)
        finally:
            close(client)

    return mark


def close(client: imaplib.IMAP4 | None) -> None:
    if client is None:
        return
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    if isinstance(value, imaplib.IMAP4.error) and value.args:
        value = value.args[0]
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    text = str(value).strip()
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text or "no reason given"
