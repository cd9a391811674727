"""Sending agents' replies by email: built from the ticket, sent by SMTP from the outbox.

Each reply gets a Message-ID derived from its own id, set before sending: a job that sent the
mail but died before committing sends it again with the same Message-ID, which mail clients
and servers recognise as the same message. The headers thread the reply under the customer's
mail (In-Reply-To, References) and carry the ticket number in the subject, which is how a reply
to it finds its way back even from a client that drops the references.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.channels.base import PermanentDeliveryError, TemporaryDeliveryError
from okno.channels.email.models import InboundEmail, Mailbox, Security
from okno.crypto import Sealer
from okno.customers import queries as customers_queries
from okno.jobs.registry import JobContext
from okno.storage import Storage
from okno.tickets import queries as ticket_queries
from okno.tickets.models import DeliveryStatus

if TYPE_CHECKING:
    from okno.tickets.models import Message

SMTP_TIMEOUT_SECONDS = 30
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Outgoing:
    mail: EmailMessage
    mailbox: Mailbox
    recipients: list[str]


def mailbox_for(session: Session, *, ticket_id: int, team_id: int | None) -> Mailbox | None:
    """The mailbox the ticket came in through, else its team's, else the first active one."""
    received = session.scalar(
        sa.select(InboundEmail.mailbox_id).where(InboundEmail.ticket_id == ticket_id).order_by(InboundEmail.id).limit(1)
    )
    if received is not None:
        return session.get(Mailbox, received)
    query = sa.select(Mailbox).where(Mailbox.is_active.is_(True)).order_by(Mailbox.id)
    if team_id is not None:
        own = session.scalars(query.where(Mailbox.team_id == team_id)).first()
        if own is not None:
            return own
    return session.scalars(query).first()


def reply_message_id(message: Message, mailbox: Mailbox) -> str:
    return f"<okno.{message.id}.{message.ticket_id}@{mailbox.address.rpartition('@')[2]}>"


def build(session: Session, message: Message, storage: Storage) -> Outgoing:
    thread = ticket_queries.reply_thread(session, message, limit=MAX_REFERENCES)
    mailbox = mailbox_for(session, ticket_id=thread.ticket_id, team_id=thread.team_id)
    if mailbox is None:
        raise PermanentDeliveryError("No mailbox is set up to send email from.")
    people = customers_queries.summaries(session, {thread.customer_id} | thread.participant_ids)
    customer_name, customer_email = people.get(thread.customer_id, ("", None))
    if customer_email is None:
        raise PermanentDeliveryError("The customer has no email address.")
    copies = sorted({email for cid, (_n, email) in people.items() if email and cid != thread.customer_id})
    earlier = thread.earlier_ids
    agent_name, signature = accounts_queries.sender_of(session, message.author_user_id)
    message.external_id = reply_message_id(message, mailbox)

    mail = EmailMessage()
    sender = f"{agent_name} ({mailbox.display_name})" if agent_name and mailbox.display_name else agent_name
    mail["From"] = Address(display_name=sender or mailbox.display_name, addr_spec=mailbox.address)
    mail["To"] = Address(display_name=customer_name, addr_spec=customer_email)
    if copies:
        mail["Cc"] = ", ".join(copies)
    mail["Subject"] = f"Re: {thread.subject} [#{thread.number}]"
    mail["Message-ID"] = message.external_id
    mail["Date"] = format_datetime(message.created_at)
    if earlier:
        mail["In-Reply-To"] = earlier[0]
        mail["References"] = " ".join(reversed(earlier))
    # RFC 3834: a reply no person wrote (a rule's auto-reply or reminder) is automatic, so that other
    # robots do not answer it in turn; an agent's reply is not.
    mail["Auto-Submitted"] = "no" if message.author_user_id is not None else "auto-replied"
    mail.set_content(message.body_text + (f"\n\n-- \n{signature}" if signature else ""))
    if message.body_html:
        closing = f"<p>-- <br>{html.escape(signature).replace(chr(10), '<br>')}</p>" if signature else ""
        mail.add_alternative(f"<html><body>{message.body_html}{closing}</body></html>", subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            storage.path(attachment.storage_key).read_bytes(),
            maintype=maintype if subtype else "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return Outgoing(mail=mail, mailbox=mailbox, recipients=[customer_email, *copies])


def send(outgoing: Outgoing, sealer: Sealer) -> None:
    """Hands the mail to the mailbox's SMTP server; says whether a failure is worth retrying."""
    box = outgoing.mailbox
    if not box.smtp_host:
        raise PermanentDeliveryError(f"The mailbox {box.address} has no SMTP server to send through.")
    port = box.smtp_port or (465 if box.smtp_security == Security.tls else 587 if box.smtp_username else 25)
    try:
        client_class = smtplib.SMTP_SSL if box.smtp_security == Security.tls else smtplib.SMTP
        with client_class(box.smtp_host, port, timeout=SMTP_TIMEOUT_SECONDS) as client:
            if box.smtp_security == Security.starttls:
                client.starttls(context=ssl.create_default_context())
            if box.smtp_username and box.smtp_password_sealed:
                client.login(box.smtp_username, sealer.unseal(box.smtp_password_sealed))
            refused = client.send_message(outgoing.mail, from_addr=box.address, to_addrs=outgoing.recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"Refused by the mail server: {_reasons(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:
        answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"{exc.smtp_code} {answer}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentDeliveryError(f"The mail server refused the message: {text}") from exc
        raise TemporaryDeliveryError(f"The mail server answered {text}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryDeliveryError(f"Could not reach {box.smtp_host}:{port}: {exc}") from exc
    if refused:
        raise PermanentDeliveryError(f"Some recipients were refused: {_reasons(refused)}")


def _reasons(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {reason.decode(errors='replace')}" for address, (code, reason) in refused.items()
    )


def deliver(session: Session, message: Message, context: JobContext) -> None:
    """A reply on an email ticket: email is the only way it reaches the customer."""
    outgoing = build(session, message, context.storage)
    send(outgoing, Sealer(context.settings.resolved_secret_key()))
    message.delivery_status = DeliveryStatus.sent
    message.delivery_error = None


def deliver_copy(session: Session, message: Message, context: JobContext) -> None:
    """A reply on a web form or portal ticket: the portal shows it, and a copy goes by email when a
    mailbox can send one. Without a mailbox there is nothing to deliver, which is not a failure."""
    thread = ticket_queries.reply_thread(session, message, limit=1)
    if mailbox_for(session, ticket_id=thread.ticket_id, team_id=thread.team_id) is None:
        message.delivery_status = None
        return
    deliver(session, message, context)
