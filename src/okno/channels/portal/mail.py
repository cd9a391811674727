"""Mailing the portal's sign-in link, from the outbox, through a mailbox's SMTP server.

The job carries the link's token sealed with the installation's key (the table keeps only its
hash). A job that mailed the link but died before committing mails it again: the same link
twice, harmless. Without a mailbox that can send, nothing can be mailed: the job logs it and
ends (the form's answer stays the same; see docs/subsystems/portal.md).
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.channels.base import PermanentDeliveryError
from okno.channels.email import outbound
from okno.channels.email.models import Mailbox
from okno.channels.portal.models import MagicLink
from okno.channels.portal.service import LINK_SEAL_PURPOSE, LINK_TTL
from okno.crypto import Sealer
from okno.db import utcnow
from okno.jobs.registry import JobContext
from okno.web.i18n import Gettext

log = logging.getLogger(__name__)


def sending_mailbox(session: Session) -> Mailbox | None:
    return session.scalars(
        sa.select(Mailbox).where(Mailbox.is_active.is_(True), Mailbox.smtp_host.is_not(None)).order_by(Mailbox.id)
    ).first()


def build(mailbox: Mailbox, *, to: str, url: str, locale: str) -> EmailMessage:
    words = Gettext(locale)
    minutes = int(LINK_TTL.total_seconds() // 60)
    mail = EmailMessage()
    mail["From"] = Address(display_name=mailbox.display_name or "", addr_spec=mailbox.address)
    mail["To"] = to
    mail["Subject"] = words.gettext("Your sign-in link")
    mail["Message-ID"] = make_msgid(domain=mailbox.address.rpartition("@")[2])
    # An automatic message: auto-responders must not answer it (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    lines = [
        words.gettext("Hello,"),
        "",
        words.gettext("Open this link to see your requests and write to us:"),
        url,
        "",
        words.gettext(
            "The link works once, within %(minutes)s minutes. If you did not ask for it, ignore this mail.",
            minutes=minutes,
        ),
    ]
    mail.set_content("\n".join(lines))
    return mail


def send_link(session: Session, link_id: int, sealed_token: str, locale: str, context: JobContext) -> None:
    link = session.get(MagicLink, link_id)
    if link is None or link.used_at is not None or link.expires_at <= utcnow(session):
        return  # used or expired meanwhile: mailing it would only confuse
    mailbox = sending_mailbox(session)
    if mailbox is None:
        log.warning("no mailbox with an SMTP server is set up: the portal sign-in link for %s was not sent", link.email)
        return
    secret = context.settings.resolved_secret_key()
    token = Sealer(secret, purpose=LINK_SEAL_PURPOSE).unseal(sealed_token)
    url = f"{context.settings.base_url.rstrip('/')}/portal/sign-in/{token}"
    mail = build(mailbox, to=link.email, url=url, locale=locale)
    mail["Date"] = format_datetime(utcnow(session))
    # A temporary failure raises and the job retries with back-off; retrying a permanent one cannot help.
    try:
        outbound.send(outbound.Outgoing(mail=mail, mailbox=mailbox, recipients=[link.email]), Sealer(secret))
    except PermanentDeliveryError as exc:
        log.warning("portal sign-in link for %s not delivered: %s", link.email, exc)
