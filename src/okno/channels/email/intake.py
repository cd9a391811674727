"""Receiving mail: the raw message is stored first, exactly once, and its processing becomes a job.

Whatever delivers the mail (the SMTP receiver, the IMAP poller) calls ``store_raw`` (or
``store_many`` for several) inside a unit of work and acknowledges the mail only after that
commits. The same mail delivered again (a retrying sender, an IMAP fetch repeated after a crash)
finds its key taken and is stored once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okno.channels.email.models import InboundEmail, InboundStatus
from okno.db import utcnow
from okno.jobs.registry import enqueue_many

PROCESS_JOB = "channels.email.process"
MAX_KEY_LENGTH = 500


@dataclass(frozen=True)
class Stored:
    inbound_id: int
    duplicate: bool


def message_key(raw: bytes) -> str:
    """The Message-ID as written, or (when missing or absurd) a hash of the raw bytes, never an IMAP UID."""
    # compat32 keeps the header as sent; the modern policy would re-fold or refuse odd ones.
    header = BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID")
    value = " ".join(str(header).split()) if header is not None else ""
    if value and "@" in value and len(value) <= MAX_KEY_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Received:
    """One mail for one mailbox, as a receiver got it."""

    mailbox_id: int
    raw: bytes
    source: str  # smtp, imap
    envelope_from: str | None = None


def store_raw(
    session: Session, *, mailbox_id: int, raw: bytes, source: str, envelope_from: str | None = None
) -> Stored:
    """Stores a received mail once per mailbox and queues its processing; a repeat is a no-op."""
    return store_many(session, [Received(mailbox_id, raw, source, envelope_from)])[0]


def store_many(session: Session, mails: list[Received]) -> list[Stored]:
    """``store_raw`` for several mails, in three statements however many they are (the mails, the ones
    stored before, their jobs); a mail given twice is stored once and its second copy is a duplicate."""
    if not mails:
        return []
    now = utcnow(session)
    keyed = [(mail, (mail.mailbox_id, message_key(mail.raw))) for mail in mails]
    rows: dict[tuple[int, str], dict[str, object]] = {}
    for mail, key in keyed:
        rows.setdefault(
            key,
            {
                "mailbox_id": mail.mailbox_id,
                "message_key": key[1],
                "raw": mail.raw,
                "size": len(mail.raw),
                "source": mail.source,
                "envelope_from": (mail.envelope_from or "")[:320] or None,
                "status": InboundStatus.queued,
                "attempts": 0,
                "received_at": now,
            },
        )
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(InboundEmail).values(list(rows.values()))
    returned = session.execute(
        insert.on_conflict_do_nothing(index_elements=["mailbox_id", "message_key"]).returning(
            InboundEmail.id, InboundEmail.mailbox_id, InboundEmail.message_key
        )
    )
    inserted = {(mailbox_id, key): inbound_id for inbound_id, mailbox_id, key in returned}
    stored_before: dict[tuple[int, str], int] = {}
    if missing := [key for key in rows if key not in inserted]:
        found = session.execute(
            sa.select(InboundEmail.id, InboundEmail.mailbox_id, InboundEmail.message_key).where(
                sa.tuple_(InboundEmail.mailbox_id, InboundEmail.message_key).in_(missing)
            )
        )
        stored_before = {(mailbox_id, key): inbound_id for inbound_id, mailbox_id, key in found}
        # The conflicting rows are committed, or were ours to wait for: each one is there.
        assert len(stored_before) == len(missing)
    enqueue_many(session, PROCESS_JOB, [({"inbound_id": i}, f"inbound-email:{i}") for i in sorted(inserted.values())])
    outcomes, first = [], set(inserted)
    for _mail, key in keyed:
        if key in first:
            first.discard(key)
            outcomes.append(Stored(inbound_id=inserted[key], duplicate=False))
        else:
            outcomes.append(Stored(inbound_id=inserted.get(key) or stored_before[key], duplicate=True))
    return outcomes
