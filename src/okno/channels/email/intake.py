"""Receiving mail: the raw message is stored first, exactly once, and its processing becomes a job.

Whatever delivers the mail (the SMTP receiver, the IMAP poller) calls ``store_raw`` inside a
unit of work and acknowledges the mail only after that commits. The same mail delivered again
(a retrying sender, an IMAP fetch repeated after a crash) finds its key taken and is stored once.
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
from okno.jobs.registry import enqueue

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


def store_raw(
    session: Session, *, mailbox_id: int, raw: bytes, source: str, envelope_from: str | None = None
) -> Stored:
    """Stores a received mail once per mailbox and queues its processing; a repeat is a no-op."""
    key = message_key(raw)
    values = {
        "mailbox_id": mailbox_id,
        "message_key": key,
        "raw": raw,
        "size": len(raw),
        "source": source,
        "envelope_from": (envelope_from or "")[:320] or None,
        "status": InboundStatus.queued,
        "attempts": 0,
        "received_at": utcnow(session),
    }
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(InboundEmail).values(**values)
    inserted = session.execute(
        insert.on_conflict_do_nothing(index_elements=["mailbox_id", "message_key"]).returning(InboundEmail.id)
    ).scalar_one_or_none()
    if inserted is None:
        existing = session.scalar(
            sa.select(InboundEmail.id).where(InboundEmail.mailbox_id == mailbox_id, InboundEmail.message_key == key)
        )
        assert existing is not None  # the conflicting row is committed or ours to wait for
        return Stored(inbound_id=existing, duplicate=True)
    enqueue(session, PROCESS_JOB, {"inbound_id": inserted}, key=f"inbound-email:{inserted}")
    return Stored(inbound_id=inserted, duplicate=False)
