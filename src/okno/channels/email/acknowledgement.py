"""The automatic acknowledgement of a new ticket opened by email (RFC 3834 auto-reply).

Sent because a rule says so: Okno seeds the rule "Acknowledge new email tickets" (ticket
created, channel email; admins may change or switch it off), whose action calls
``queue_for_ticket`` in the rules' reaction to the new ticket. Sent by a job through the outbox
with the mailbox's SMTP server. It is answered only when the mail allows an automatic answer (not an
auto-reply itself, not bulk or list mail, not a bounce, not from mailer-daemon or no-reply: the
verdict is kept on the stored mail when it is filed, ``InboundEmail.answer_to``),
and at most ``OKNO_AUTO_REPLIES_PER_HOUR`` times per sender address per hour, counted in the
database so every worker shares the count (on PostgreSQL an advisory lock per address keeps
two workers from both taking the last slot).

It names when to expect an answer: the due time of the ticket's first-response SLA target, in
the customer's language and the local time of the team's business-hours calendar ("by 10:00 on
Monday, 2 March (Moscow time)"), worked out from the ticket as the mail is sent (so a priority a
rule set meanwhile counts); without a running target, ``OKNO_ACK_EXPECTED_RESPONSE`` or "within
one business day".

The acknowledgement is not a reply on the ticket: it must not count as the first response or
change the ticket's status. The ticket's timeline shows it as an internal note by the system
once it went out (or why it did not); the row here keeps its delivery status.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_time, get_timezone_location
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.automation.sla import queries as sla_queries
from okno.channels.base import PermanentDeliveryError
from okno.channels.email import outbound
from okno.channels.email.models import AutoReply, InboundEmail, Mailbox
from okno.crypto import Sealer
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.errors import Conflict
from okno.jobs.registry import JobContext, enqueue
from okno.tickets import service as tickets_service
from okno.tickets import threads
from okno.tickets.models import DeliveryStatus, MessageKind
from okno.tickets.schemas import MessageCreate
from okno.web.i18n import Gettext

log = logging.getLogger(__name__)

SEND_JOB = "channels.email.send_acknowledgement"


def queue(
    session: Session,
    *,
    mailbox: Mailbox,
    ticket_id: int,
    recipient: str,
    in_reply_to: str | None,
    language: str | None,
    per_hour: int,
) -> AutoReply | None:
    """Queues the acknowledgement unless the sender had their share of automatic mail this hour."""
    address = recipient.strip().lower()
    if per_hour <= 0 or not address:
        return None
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"okno.auto-reply:" + address.encode()).digest()[:8], "big", signed=True)
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    now = utcnow(session)
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(AutoReply)
        .where(AutoReply.recipient == address, AutoReply.created_at > now - timedelta(hours=1))
    )
    if (recent or 0) >= per_hour:
        log.info("no acknowledgement for ticket %s: %s had %s automatic replies this hour", ticket_id, address, recent)
        return None
    row = AutoReply(
        mailbox_id=mailbox.id,
        ticket_id=ticket_id,
        recipient=address,
        in_reply_to=in_reply_to,
        language=language,
        delivery_status=DeliveryStatus.queued,
        created_at=now,
    )
    session.add(row)
    session.flush()
    enqueue(session, SEND_JOB, {"auto_reply_id": row.id}, key=f"auto-reply:{row.id}")
    return row


def queue_for_ticket(session: Session, *, ticket_id: int, language: str | None, per_hour: int) -> AutoReply | None:
    """The acknowledgement of a ticket opened by email: once, and only if its mail may be answered."""
    # The addresses only: the stored mail itself may be megabytes.
    inbound = session.execute(
        sa.select(InboundEmail.mailbox_id, InboundEmail.answer_to, InboundEmail.answer_in_reply_to)
        .where(InboundEmail.ticket_id == ticket_id)
        .order_by(InboundEmail.id)
        .limit(1)
    ).first()
    if inbound is None or inbound.answer_to is None:
        return None
    if session.scalar(sa.select(AutoReply.id).where(AutoReply.ticket_id == ticket_id)) is not None:
        return None  # acknowledged already (another rule, or a run before this one)
    mailbox = session.get(Mailbox, inbound.mailbox_id)
    if mailbox is None:
        return None
    return queue(
        session,
        mailbox=mailbox,
        ticket_id=ticket_id,
        recipient=inbound.answer_to,
        in_reply_to=inbound.answer_in_reply_to,
        language=language,
        per_hour=per_hour,
    )


def may_answer_automatically(session: Session, ticket_id: int) -> bool:
    """Whether the ticket's latest mail allows an automatic answer (RFC 3834); tickets without mail may."""
    latest = session.execute(
        sa.select(InboundEmail.answer_to)
        .where(InboundEmail.ticket_id == ticket_id)
        .order_by(InboundEmail.id.desc())
        .limit(1)
    ).first()
    return latest is None or latest[0] is not None


def build(session: Session, row: AutoReply, expected: str | None) -> outbound.Outgoing:
    ticket = threads.heading(session, row.ticket_id)
    mailbox = session.get(Mailbox, row.mailbox_id)
    assert mailbox is not None
    locale = "ru" if row.language == "ru" else "en"
    _ = Gettext(locale)
    name = _customer_name(session, ticket.customer_id)
    greeting = _.gettext("Hello %(name)s,", name=name) if name else _.gettext("Hello,")
    promise = sla_queries.first_response_due(session, row.ticket_id, now=utcnow(session))
    within = promised(promise, locale) if promise is not None else expected or _.gettext("within one business day")
    body = "\n\n".join(
        [
            greeting,
            _.gettext(
                "Thank you for writing to us. We have received your request; its number is #%(number)s. "
                "We will answer %(expected)s.",
                number=ticket.number,
                expected=within,
            ),
            _.gettext(
                "To add anything, reply to this email and keep [#%(number)s] in the subject.", number=ticket.number
            ),
            mailbox.display_name or mailbox.address,
            _.gettext("This is an automatic message."),
        ]
    )
    row.external_id = f"<okno.ack.{row.id}.{ticket.ticket_id}@{mailbox.address.rpartition('@')[2]}>"
    mail = EmailMessage()
    mail["From"] = Address(display_name=mailbox.display_name, addr_spec=mailbox.address)
    mail["To"] = row.recipient
    mail["Subject"] = f"Re: {ticket.subject} [#{ticket.number}]"
    mail["Message-ID"] = row.external_id
    mail["Date"] = format_datetime(row.created_at)
    if row.in_reply_to:
        mail["In-Reply-To"] = row.in_reply_to
        mail["References"] = row.in_reply_to
    # RFC 3834: an automatic answer; asks other robots (and Exchange) not to answer it in turn.
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body)
    return outbound.Outgoing(mail=mail, mailbox=mailbox, recipients=[row.recipient])


def promised(promise: sla_queries.Promise, locale: str) -> str:
    """The due time as customers read it, in the calendar's zone: "by 10:00 on Monday, 2 March (Moscow time)"."""
    zone = ZoneInfo(promise.time_zone)
    local = promise.due_at.astimezone(zone)
    return Gettext(locale).gettext(
        "by %(time)s on %(date)s (%(city)s time)",
        time=format_time(local, "HH:mm", locale=locale),
        date=format_date(local.date(), "EEEE, d MMMM", locale=locale),
        city=get_timezone_location(zone, locale=locale, return_city=True),
    )


def deliver(session: Session, auto_reply_id: int, context: JobContext) -> None:
    """Sends it; a failure that may pass raises (the job retries), a permanent one is recorded."""
    row = session.get(AutoReply, auto_reply_id, with_for_update=True)
    if row is None or row.delivery_status != DeliveryStatus.queued:
        return
    try:
        outgoing = build(session, row, context.settings.ack_expected_response)
        outbound.send(outgoing, Sealer(context.settings.resolved_secret_key()))
    except PermanentDeliveryError as exc:
        row.delivery_status = DeliveryStatus.failed
        row.delivery_error = str(exc)[:2000]
        note = f"The automatic acknowledgement to {row.recipient} was not delivered: {exc}"
    else:
        row.delivery_status = DeliveryStatus.sent
        row.sent_at = utcnow(session)
        note = f"Automatic acknowledgement sent to {row.recipient}."
    try:
        with session.begin_nested():
            tickets_service.add_message(
                session, Actor.system("email"), row.ticket_id, data=MessageCreate(kind=MessageKind.note, body=note)
            )
    except Conflict:
        log.info("ticket %s was merged meanwhile; the acknowledgement's note is left out", row.ticket_id)


def _customer_name(session: Session, customer_id: int) -> str:
    name, _email = customers_queries.summaries(session, {customer_id}).get(customer_id, ("", None))
    return name
