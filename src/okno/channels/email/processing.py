"""Turning a stored mail into a message on a ticket: the job behind every received mail.

Runs at least once per mail. The mail's row is locked and its status checked first, and the
ticket changes commit together with the status, so a mail is filed exactly once. A mail that
cannot be filed (the parser or a rule fails on it) is quarantined with the reason: its raw
bytes stay, an admin sees it and can run it again. A database that is down is not the mail's
fault: that error propagates and the job retries with back-off.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.channels.base import InboundMessage
from okno.channels.email import bounces
from okno.channels.email.models import InboundEmail, InboundStatus, Mailbox
from okno.channels.email.parse import ParsedEmail, parse_email
from okno.channels.spam import service as spam
from okno.channels.spam.scoring import Specimen
from okno.customers import service as customers_service
from okno.db import utcnow
from okno.jobs.registry import JobContext
from okno.tickets import attachments, threads
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel, MessageKind
from okno.tickets.schemas import MessageCreate, MessageIn

log = logging.getLogger(__name__)

TICKET_NUMBER = re.compile(r"\[#(\d{1,18})\]")
MAX_ATTACHMENTS = 50
MAX_PARTS = 1000


@dataclass(frozen=True)
class Filed:
    ticket_id: int | None
    message_id: int | None
    new_ticket: bool
    note: str | None = None  # why a mail was dropped (kept on the stored mail for admins)
    # What an automatic answer needs; the acknowledgement rule (or another rule) decides whether to send one.
    answer_to: str | None = None
    answer_in_reply_to: str | None = None


def process(session: Session, inbound_id: int, context: JobContext) -> None:
    # The mail locked, its mailbox read along in the same round trip.
    found = session.execute(
        sa.select(InboundEmail, Mailbox)
        .join(Mailbox, Mailbox.id == InboundEmail.mailbox_id)
        .where(InboundEmail.id == inbound_id)
        .with_for_update(of=InboundEmail)
    ).first()
    if found is None or found.InboundEmail.status != InboundStatus.queued:
        return  # filed already by an earlier run of this job
    inbound, mailbox = found.InboundEmail, found.Mailbox
    try:
        with session.begin_nested():
            filed = file_mail(session, inbound, mailbox, context)
    except sa.exc.OperationalError:
        raise
    except Exception as exc:
        log.exception("quarantined inbound mail %s", inbound.id)
        inbound.status = InboundStatus.quarantined
        inbound.error = f"{type(exc).__name__}: {exc}"[:4000]
    else:
        inbound.status = InboundStatus.processed
        inbound.ticket_id = filed.ticket_id
        inbound.error = filed.note
        inbound.answer_to, inbound.answer_in_reply_to = filed.answer_to, filed.answer_in_reply_to
    # Every change to the stored mail is made here, after the savepoint: one UPDATE at the commit.
    inbound.attempts += 1
    inbound.processed_at = utcnow(session)


def file_mail(session: Session, inbound: InboundEmail, mailbox: Mailbox, context: JobContext) -> Filed:
    parsed = parse_email(
        inbound.raw,
        max_attachment_bytes=context.settings.max_attachment_bytes,
        max_attachments=MAX_ATTACHMENTS,
        max_parts=MAX_PARTS,
        received_at=inbound.received_at,
    )
    message = parsed.message
    if message.is_bounce:
        # Never a new ticket, never answered: it goes to the reply it is about, or nowhere.
        ticket_id, dropped = bounces.file_bounce(session, message)
        return Filed(ticket_id=ticket_id, message_id=None, new_ticket=False, note=dropped)
    if message.sender.email is None:
        raise ValueError("the mail names no sender address")
    customer = customers_service.find_or_create_by_email(
        session, email=message.sender.email, name=message.sender.name or ""
    )
    actor = Actor(role=Role.customer, customer_id=customer.id, name=customer.name)
    ticket_id = _thread(session, message, customer.id)
    # Only a mail that opens a ticket is judged: one that continues a conversation is from someone known.
    judgement = (
        spam.judge(
            session,
            specimen_of_mail(parsed, **_own_names(session)),
            customer_id=customer.id,
            regex_timeout=context.settings.rule_regex_timeout_ms / 1000,
        )
        if ticket_id is None
        else None
    )
    attachment_ids, body_html = _store_attachments(session, actor, message, context)
    posted = tickets_service.receive(
        session,
        actor,
        tickets_service.Incoming(
            channel=Channel.email,
            subject=message.subject,
            message=MessageIn(
                body=message.body_text or ("(no text)" if not attachment_ids and not body_html else ""),
                body_html=body_html,
                attachment_ids=attachment_ids,
            ),
            external_id=message.external_id,
            language=message.language,
            team_id=mailbox.team_id,
            continues_ticket_id=ticket_id,
            cc=tuple(a for a in message.cc if a != mailbox.address),
        ),
    )
    in_spam = judgement is not None and spam.file_if_spam(session, posted.ticket, judgement)
    if parsed.dropped:
        # The agent must know the customer sent more than the ticket shows.
        kept_out = "\n".join(
            f"- {item.filename} ({item.size:,} bytes): "
            + ("over the attachment size limit" if item.reason == "too_large" else "more attachments than allowed")
            for item in parsed.dropped
        )
        tickets_service.add_message(
            session,
            Actor.system("email"),
            posted.ticket.id,
            data=MessageCreate(kind=MessageKind.note, body=f"Attachments of this mail that were not kept:\n{kept_out}"),
        )
    filed = Filed(ticket_id=posted.ticket.id, message_id=posted.message.id, new_ticket=ticket_id is None)
    if not message.may_auto_reply or in_spam:
        # Spam is never answered, not even once an agent takes it out of the folder.
        return filed
    return dataclasses.replace(
        filed,
        answer_to=message.sender.email.strip().lower()[:320],
        answer_in_reply_to=None if message.external_id_is_fallback else message.external_id,
    )


def _thread(session: Session, message: InboundMessage, customer_id: int) -> int | None:
    """The ticket a mail continues: by its Message-ID references, then by [#number] from its own people."""
    by_reference = threads.ticket_by_external_ids(session, list(message.thread_ids))
    if by_reference is not None:
        return by_reference
    for match in TICKET_NUMBER.finditer(message.subject):
        ticket_id = threads.ticket_by_number_for(session, number=int(match.group(1)), customer_id=customer_id)
        if ticket_id is not None:
            return ticket_id
    # A number from anyone else opens a new ticket: guessing numbers must not reach other tickets.
    return None


def _store_attachments(
    session: Session, actor: Actor, message: InboundMessage, context: JobContext
) -> tuple[list[str], str | None]:
    """Stores the files and points inline images (cid:) at them; only proven raster images show inline."""
    ids: list[str] = []
    html = message.body_html
    for item in message.attachments:
        stored = context.storage.put(io.BytesIO(item.data), max_bytes=context.settings.max_attachment_bytes)
        row = attachments.record_upload(session, actor, stored, filename=item.filename, content_type=item.content_type)
        ids.append(row.id)
        if html and item.content_id and row.inline_image_type is not None:
            html = html.replace(f"cid:{item.content_id}", f"/attachments/{row.id}?inline=1")
    return ids, html


def _own_names(session: Session) -> dict[str, frozenset[str]]:
    """The desk's mail domains and display names: a stranger using them impersonates the desk."""
    rows = session.execute(sa.select(Mailbox.address, Mailbox.display_name).where(Mailbox.is_active.is_(True)))
    domains, names = set(), set()
    for address, display_name in rows:
        domains.add(address.rpartition("@")[2].lower())
        if display_name.strip():
            names.add(display_name.strip())
    return {"own_domains": frozenset(domains), "own_names": frozenset(names)}


def specimen_of_mail(parsed: ParsedEmail, *, own_domains: frozenset[str], own_names: frozenset[str]) -> Specimen:
    """What the spam filter reads of a mail; ``own_*`` are the desk's mailbox domains and display names."""
    message = parsed.message
    return Specimen(
        sender=message.sender.email or "",
        sender_name=message.sender.name or "",
        subject=message.subject,
        text=message.body_text,
        html=message.body_html or "",
        html_source=parsed.html_source,
        recipients=len(message.to) + len(message.cc),
        upstream_headers=parsed.spam_headers,
        bulk=message.is_bulk,
        own_domains=own_domains,
        own_names=own_names,
    )
