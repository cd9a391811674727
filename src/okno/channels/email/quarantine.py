"""Quarantined mail: what admins see of mail that could not be filed, and running it again.

A quarantined mail keeps its raw bytes. Its sender and subject are read leniently from the raw
headers for the list (the parser may be exactly what failed on it). Running it again sets it
back to queued and queues its processing under a new key, so it is filed by the same job as
any received mail, once the cause (a parser bug, a missing team) is fixed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_admin
from okno.channels.email.intake import PROCESS_JOB
from okno.channels.email.models import InboundEmail, InboundStatus, Mailbox
from okno.errors import Conflict, NotFound
from okno.jobs.registry import enqueue

PAGE_SIZE = 100


@dataclass(frozen=True)
class QuarantinedMail:
    id: int
    mailbox_address: str
    received_at: datetime
    sender: str
    subject: str
    error: str
    size: int
    attempts: int


def header_text(value: object) -> str:
    """A header's text whatever its encoding; never raises (the mail may be broken anywhere)."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:  # a broken encoded word or an unknown charset: show it as it came
        text = str(value)
    return " ".join(text.split())[:300]


def list_quarantined(session: Session, actor: Actor, *, limit: int = PAGE_SIZE) -> tuple[list[QuarantinedMail], int]:
    require_admin(actor)
    total = session.scalar(
        sa.select(sa.func.count()).select_from(InboundEmail).where(InboundEmail.status == InboundStatus.quarantined)
    )
    rows = session.execute(
        sa.select(InboundEmail, Mailbox.address)
        .join(Mailbox, Mailbox.id == InboundEmail.mailbox_id)
        .where(InboundEmail.status == InboundStatus.quarantined)
        .order_by(InboundEmail.received_at.desc(), InboundEmail.id.desc())
        .limit(limit)
    )
    found = []
    for inbound, address in rows:
        headers = BytesHeaderParser(policy=compat32).parsebytes(inbound.raw[: 256 * 1024])
        found.append(
            QuarantinedMail(
                id=inbound.id,
                mailbox_address=address,
                received_at=inbound.received_at,
                sender=header_text(headers.get("From")) or (inbound.envelope_from or ""),
                subject=header_text(headers.get("Subject")),
                error=inbound.error or "",
                size=inbound.size,
                attempts=inbound.attempts,
            )
        )
    return found, int(total or 0)


def raw_mail(session: Session, actor: Actor, inbound_id: int) -> bytes:
    require_admin(actor)
    raw = session.scalar(sa.select(InboundEmail.raw).where(InboundEmail.id == inbound_id))
    if raw is None:
        raise NotFound("No such received mail.")
    return raw


def retry(session: Session, actor: Actor, inbound_id: int) -> None:
    """Queues a quarantined mail's processing again."""
    require_admin(actor)
    inbound = session.get(InboundEmail, inbound_id, with_for_update=True)
    if inbound is None:
        raise NotFound("No such received mail.")
    if inbound.status != InboundStatus.quarantined:
        raise Conflict("This mail is not in quarantine.", code="not_quarantined")
    inbound.status = InboundStatus.queued
    key = f"inbound-email:{inbound.id}:retry:{uuid.uuid4().hex}"
    enqueue(session, PROCESS_JOB, {"inbound_id": inbound.id}, key=key)


def retry_all(session: Session, actor: Actor) -> int:
    require_admin(actor)
    ids = list(
        session.scalars(
            sa.select(InboundEmail.id).where(InboundEmail.status == InboundStatus.quarantined).order_by(InboundEmail.id)
        )
    )
    for inbound_id in ids:
        retry(session, actor, inbound_id)
    return len(ids)
