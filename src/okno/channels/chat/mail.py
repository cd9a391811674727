"""What the chat sends by email: the confirmation code, and a conversation's transcript on request.

Both are queued as jobs and sent from the outbox through a mailbox's SMTP server, like the
portal's sign-in link (``channels.portal.mail``): the code from the first mailbox that can send,
the transcript from the conversation's own mailbox (``email.outbound.mailbox_for``). Without a
mailbox that can send nothing goes out; the job logs it and ends. A temporary SMTP failure
raises, so the job retries; a permanent one is logged (and noted on the ticket for a transcript).
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from okno.accounts import rate_limits
from okno.channels.base import PermanentDeliveryError
from okno.channels.chat import visitors
from okno.channels.chat.models import ChatVisitor
from okno.channels.email import outbound
from okno.channels.portal.mail import sending_mailbox
from okno.crypto import Sealer, sealer_for
from okno.db import utcnow
from okno.errors import Conflict, Invalid
from okno.jobs.registry import JobContext, enqueue
from okno.tickets import public_view
from okno.tickets import service as tickets_service
from okno.tickets.models import MessageKind
from okno.tickets.schemas import MessageCreate
from okno.web.i18n import LOCALES, Gettext

log = logging.getLogger(__name__)

TRANSCRIPT_JOB = "chat.send_transcript"
TRANSCRIPTS_PER_VISITOR = (3, 3600)
TRANSCRIPTS_PER_CLIENT = (20, 3600)
TRANSCRIPT_MESSAGES = 2000


def _locale(locale: str) -> str:
    return locale if locale in LOCALES else "en"


def _automatic(mail: EmailMessage, *, sender: Address, to: str, subject: str, at_domain: str) -> None:
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain=at_domain)
    # An automatic message: auto-responders must not answer it (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"


def send_code(session: Session, code_id: int, sealed_code: str, locale: str, context: JobContext) -> None:
    entry = visitors.code_for_mail(session, code_id)
    if entry is None:
        return  # used, replaced or expired meanwhile
    mailbox = sending_mailbox(session)
    if mailbox is None:
        log.warning("no mailbox with an SMTP server is set up: the chat confirmation code was not sent")
        return
    code = sealer_for(session, purpose=visitors.CODE_SEAL_PURPOSE).unseal(sealed_code)
    words = Gettext(_locale(locale))
    mail = EmailMessage()
    domain = mailbox.address.rpartition("@")[2]
    sender = Address(display_name=mailbox.display_name or "", addr_spec=mailbox.address)
    _automatic(mail, sender=sender, to=entry.email, subject=words.gettext("Your confirmation code"), at_domain=domain)
    mail["Date"] = format_datetime(utcnow(session))
    minutes = int(visitors.CODE_TTL.total_seconds() // 60)
    lines = [
        words.gettext("Hello,"),
        "",
        words.gettext("Your code to confirm this address in our chat: %(code)s", code=code),
        "",
        words.gettext(
            "It works within %(minutes)s minutes. If you did not ask for it, ignore this mail.", minutes=minutes
        ),
    ]
    mail.set_content("\n".join(lines))
    try:
        outbound.send(outbound.Outgoing(mail=mail, mailbox=mailbox, recipients=[entry.email]), _sealer(context))
    except PermanentDeliveryError as exc:
        log.warning("chat confirmation code not delivered: %s", exc)


def _sealer(context: JobContext) -> Sealer:
    return Sealer(context.settings.resolved_secret_key())


def queue_transcript(
    session: Session, row: ChatVisitor, *, ticket_id: int, email: str | None, client: str, locale: str
) -> str:
    """Queues the conversation's transcript to the visitor's address (given now, or known); returns it."""
    if email and not row.email:
        visitors.give_email(session, row, email=email)
    address = row.email or (email.strip().lower() if email else None)
    if not address:
        raise Invalid("Give an email address to send the transcript to.", field="email", code="email_required")
    limits = [
        rate_limits.Limit(f"chat-transcript:visitor:{row.id}", *TRANSCRIPTS_PER_VISITOR),
        rate_limits.Limit(f"chat-transcript:client:{client}", *TRANSCRIPTS_PER_CLIENT),
    ]
    rate_limits.check(session, limits, message="Too many transcripts were asked for; try again later.")
    rate_limits.record(session, [limit.key for limit in limits])
    payload = {"ticket_id": ticket_id, "email": address, "locale": _locale(locale), "visitor_id": row.id}
    enqueue(session, TRANSCRIPT_JOB, payload)
    return address


def send_transcript(session: Session, ticket_id: int, email: str, locale: str, context: JobContext) -> None:
    states = public_view.states(session, {ticket_id})
    if ticket_id not in states:
        return
    state = states[ticket_id]
    mailbox = outbound.mailbox_for(session, ticket_id=ticket_id, team_id=state.team_id)
    if mailbox is None or not mailbox.smtp_host:
        mailbox = sending_mailbox(session)
    if mailbox is None:
        log.warning("no mailbox with an SMTP server is set up: the transcript of ticket %s was not sent", ticket_id)
        return
    words = Gettext(locale)
    reader = visitors.SYSTEM
    messages = public_view.public_messages(session, reader, {ticket_id}, limit=TRANSCRIPT_MESSAGES)
    you, agent = words.gettext("You"), words.gettext("Support")
    blocks = [
        f"[{m.created_at.strftime('%Y-%m-%d %H:%M')} UTC] {you if m.from_customer else (m.author_name or agent)}:\n"
        f"{m.body_text.strip()}"
        for m in messages
    ]
    mail = EmailMessage()
    domain = mailbox.address.rpartition("@")[2]
    sender = Address(display_name=mailbox.display_name or "", addr_spec=mailbox.address)
    subject = words.gettext("Transcript of your chat") + f" [#{state.number}]"
    _automatic(mail, sender=sender, to=email, subject=subject, at_domain=domain)
    mail["Date"] = format_datetime(utcnow(session))
    intro = words.gettext("Here is our conversation, as you asked (request #%(number)s).", number=state.number)
    mail.set_content("\n\n".join([intro, *blocks, mailbox.display_name or mailbox.address]))
    try:
        outbound.send(outbound.Outgoing(mail=mail, mailbox=mailbox, recipients=[email]), _sealer(context))
        note = f"Transcript of the chat emailed to {email} on the visitor's request."
    except PermanentDeliveryError as exc:
        note = f"The chat transcript to {email} was not delivered: {exc}"
    try:
        with session.begin_nested():
            tickets_service.add_message(
                session, visitors.SYSTEM, ticket_id, data=MessageCreate(kind=MessageKind.note, body=note)
            )
    except Conflict:
        log.info("ticket %s was merged meanwhile; the transcript's note is left out", ticket_id)
