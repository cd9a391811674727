"""Use cases of the web form and the customer portal: open a request, mail a sign-in link, sign in.

Tickets are changed only through ``tickets.service`` (events recorded there). Every public
entry point is rate-limited per address and per client address through ``accounts.rate_limits``,
counted in the database so several processes share the limits. Attempts count in the
transaction that does the work: an attempt that fails validation does not use up a person's
allowance, an accepted one always does.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import rate_limits, web_sessions
from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.channels.language import detect_language
from okno.channels.portal.models import MagicLink
from okno.channels.spam import service as spam
from okno.channels.spam.scoring import Specimen
from okno.crypto import Sealer
from okno.customers import service as customers_service
from okno.customers.models import IdentityKind
from okno.db import utcnow
from okno.jobs.registry import enqueue
from okno.storage import StoredFile
from okno.tickets import attachments
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel

if TYPE_CHECKING:
    from okno.customers.models import Customer
    from okno.tickets.models import Ticket
from okno.tickets.schemas import MessageIn

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=15)
SEND_LINK_JOB = "portal.send_magic_link"
# The sealed token in a job payload: only the worker that mails it can read it.
LINK_SEAL_PURPOSE = b"okno portal magic link"
MAX_FILES = 5
HOUR = 3600
# Requests opened through the public form: a person rarely writes more than a few an hour.
FORM_PER_EMAIL = (5, HOUR)
FORM_PER_CLIENT = (20, HOUR)
# Sign-in links: a few per address per quarter hour, more per client (an office behind one address).
LINK_PER_EMAIL = (3, 900)
LINK_PER_CLIENT = (10, 900)


@dataclass(frozen=True)
class Upload:
    """A file already durable in storage (written before the transaction), with the name it came with."""

    stored: StoredFile
    filename: str
    content_type: str


def customer_actor(customer: Customer) -> Actor:
    return Actor(role=Role.customer, customer_id=customer.id, name=customer.name)


def _limits(
    kind: str, email: str, client: str, per_email: tuple[int, int], per_client: tuple[int, int]
) -> list[rate_limits.Limit]:
    return [
        rate_limits.Limit(f"{kind}:email:{email.lower()}", *per_email),
        rate_limits.Limit(f"{kind}:client:{client}", *per_client),
    ]


def _open(
    session: Session, actor: Actor, *, channel: Channel, subject: str, message: str, uploads: list[Upload]
) -> Ticket:
    ids = [
        attachments.record_upload(session, actor, u.stored, filename=u.filename, content_type=u.content_type).id
        for u in uploads
    ]
    incoming = tickets_service.Incoming(
        channel=channel,
        subject=subject,
        message=MessageIn(body=message, attachment_ids=ids),
        language=detect_language(message),
    )
    return tickets_service.receive(session, actor, incoming).ticket


def submit_form(
    session: Session,
    *,
    name: str,
    email: str,
    subject: str,
    message: str,
    client: str,
    uploads: list[Upload],
    regex_timeout: float,
) -> Ticket:
    """The public form: the customer found (or created) by address opens a ``web`` ticket.

    Anyone may claim any address here, so the request is judged by the spam filter like a mail
    (``channels.spam``); the sender sees the same thanks whatever the verdict.
    """
    limits = _limits("portal-form", email, client, FORM_PER_EMAIL, FORM_PER_CLIENT)
    rate_limits.check(session, limits, message="Too many requests from this address; try again later.")
    customer = customers_service.find_or_create_by_email(session, email=email, name=name)
    if customer.merged_into_id is not None:
        customer = customers_service.get_customer(session, Actor.system(), customer.merged_into_id)
    specimen = Specimen(sender=email.strip().lower(), sender_name=name, subject=subject, text=message)
    judgement = spam.judge(session, specimen, customer_id=customer.id, regex_timeout=regex_timeout)
    ticket = _open(
        session, customer_actor(customer), channel=Channel.web, subject=subject, message=message, uploads=uploads
    )
    spam.file_if_spam(session, ticket, judgement)
    rate_limits.record(session, [limit.key for limit in limits])
    return ticket


def submit_signed_in(session: Session, actor: Actor, *, subject: str, message: str, uploads: list[Upload]) -> Ticket:
    """ "New request" in the portal: the signed-in customer is who writes."""
    return _open(session, actor, channel=Channel.portal, subject=subject, message=message, uploads=uploads)


def reply(session: Session, actor: Actor, ticket_id: int, *, message: str, uploads: list[Upload]) -> Ticket:
    """The customer writes on their ticket: a solved one reopens, a closed one gets a follow-up."""
    ids = [
        attachments.record_upload(session, actor, u.stored, filename=u.filename, content_type=u.content_type).id
        for u in uploads
    ]
    incoming = tickets_service.Incoming(
        channel=Channel.portal,
        subject="",
        message=MessageIn(body=message, attachment_ids=ids),
        language=detect_language(message),
        continues_ticket_id=ticket_id,
    )
    return tickets_service.receive(session, actor, incoming).ticket


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_link(session: Session, *, email: str, client: str, locale: str, sealer: Sealer) -> None:
    """Mails a sign-in link if the address is a customer's; does the same work, visibly, if not.

    The caller answers the same whatever happens here (except a rate limit, which is counted
    for known and unknown addresses alike), so the answer never tells whether we know someone.
    """
    address = email.strip().lower()
    limits = _limits("magic-link", address, client, LINK_PER_EMAIL, LINK_PER_CLIENT)
    rate_limits.check(session, limits, message="Too many sign-in links were asked for; try again later.")
    rate_limits.record(session, [limit.key for limit in limits])
    customer = customers_service.find_by_identity(session, IdentityKind.email, address)
    if customer is not None and customer.merged_into_id is not None:
        customer = customers_service.get_customer(session, Actor.system(), customer.merged_into_id)
    if customer is None:
        log.info("portal sign-in link asked for an unknown address; nothing sent")
        return
    token = secrets.token_urlsafe(32)
    now = utcnow(session)
    link = MagicLink(
        token_hash=_hash(token), customer_id=customer.id, email=address, created_at=now, expires_at=now + LINK_TTL
    )
    session.add(link)
    session.flush()
    payload = {"link_id": link.id, "sealed_token": sealer.seal(token), "locale": locale}
    enqueue(session, SEND_LINK_JOB, payload, key=f"portal-magic-link:{link.id}")


def _usable(token: str) -> sa.ColumnElement[bool]:
    return sa.and_(MagicLink.token_hash == _hash(token), MagicLink.used_at.is_(None))


def link_is_usable(session: Session, token: str) -> bool:
    """Whether the link may still sign someone in (for the page that asks to confirm)."""
    found = session.scalar(sa.select(MagicLink.id).where(_usable(token), MagicLink.expires_at > utcnow(session)))
    return found is not None


def sign_in(session: Session, *, token: str, user_agent: str, locale: str) -> str | None:
    """Spends the link and starts a portal session; returns the session cookie, or None.

    The link is spent by a conditional update, so two requests racing with one link sign in
    once. The account is made on the first sign-in (``accounts.service.customer_account``).
    """
    now = utcnow(session)
    link = session.scalar(sa.select(MagicLink).where(_usable(token), MagicLink.expires_at > now))
    if link is None:
        return None
    spent = session.execute(
        sa.update(MagicLink).where(MagicLink.id == link.id, MagicLink.used_at.is_(None)).values(used_at=now)
    )
    if int(getattr(spent, "rowcount", 0) or 0) != 1:
        return None
    customer = customers_service.get_customer(session, Actor.system(), link.customer_id)
    user = accounts_service.customer_account(
        session, customer_id=customer.id, email=link.email, name=customer.name, locale=locale
    )
    if user is None:
        log.warning("portal link for customer %s spent, but no portal account may be used", customer.id)
        return None
    _row, cookie = web_sessions.start(session, user, remember=True, user_agent=user_agent)
    return cookie


def sweep_links(session: Session) -> int:
    """Spent and expired links are of no use after a day (kept that long for support questions)."""
    cutoff = utcnow(session) - timedelta(days=1)
    result = session.execute(sa.delete(MagicLink).where(MagicLink.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
