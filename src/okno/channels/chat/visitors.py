"""Chat visitors: their tokens, the customer they are, and how they prove an email address.

A visitor is a random token the widget keeps in the site's ``localStorage``; the help desk's
cookies are never involved. Which customer their conversations belong to, and what they may
see in the widget:

- no email: a customer of their own, known by a chat identity (the visitor's public id);
- an email typed in the widget: the customer with that address, **for agents only**: the
  visitor sees the conversations they started here, never that customer's earlier ones;
- an address confirmed by a mailed one-time code, or signed by the site with the widget's
  secret: the visitor is that customer, and sees their earlier chat conversations.

A visitor who was nobody yet and turns out to be someone keeps their conversations: the record
of their own is merged into the customer with the address (``customers.merge``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import rate_limits
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.channels.chat.models import ChatEmailCode, ChatVisitor
from okno.channels.widget import service as widget_service
from okno.crypto import SECRET_KEY_INFO, sealer_for
from okno.customers import merge as customers_merge
from okno.customers import queries as customers_queries
from okno.customers import service as customers_service
from okno.customers.models import IdentityKind
from okno.customers.schemas import CustomerCreate, IdentityIn
from okno.db import utcnow
from okno.errors import Invalid, Unauthorized
from okno.jobs.registry import enqueue

if TYPE_CHECKING:
    from okno.channels.widget.service import WidgetSettings

log = logging.getLogger(__name__)

HOUR = 3600
VISITORS_PER_CLIENT = (60, HOUR)
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
SEEN_GRANULARITY = timedelta(minutes=1)
CODE_PER_EMAIL = (3, 900)
CODE_PER_VISITOR = (5, 900)
CODE_PER_CLIENT = (10, 900)
SEND_CODE_JOB = "chat.send_email_code"
CODE_SEAL_PURPOSE = b"okno chat email code"
SYSTEM = Actor.system("chat")


@dataclass(frozen=True)
class Visitor:
    """A visitor as the chat works with them (a plain value: safe to keep on a live connection)."""

    id: int
    widget_id: int
    public_id: str
    customer_id: int | None
    name: str
    email: str | None
    email_confirmed: bool

    @property
    def actor(self) -> Actor:
        """The customer the visitor is; a chat narrows what this actor may see to the visitor's own."""
        return Actor(role=Role.customer, customer_id=self.customer_id, name=self.name)

    def public(self) -> dict[str, object]:
        return {"name": self.name, "email": self.email, "email_confirmed": self.email_confirmed}


def value_of(row: ChatVisitor) -> Visitor:
    """The visitor as the row says now (a value: the row may change after)."""
    return Visitor(
        id=row.id,
        widget_id=row.widget_id,
        public_id=row.public_id,
        customer_id=row.customer_id,
        name=row.name,
        email=row.email,
        email_confirmed=row.email_confirmed,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    widget: WidgetSettings,
    *,
    client: str,
    name: str = "",
    identity: tuple[str, str, str] | None = None,
) -> tuple[Visitor, str]:
    """A new visitor of the widget and the token that stands for them (shown this once).

    ``identity`` is (email, name, signature) as the site signed it: the visitor starts as that
    customer, confirmed. A wrong signature is refused (the site's set-up is broken).
    """
    limit = rate_limits.Limit(f"chat-visitor:client:{client}", *VISITORS_PER_CLIENT)
    rate_limits.check(session, [limit], message="Too many chat visitors from this address; try again later.")
    rate_limits.record(session, [limit.key])
    token = secrets.token_urlsafe(32)
    now = utcnow(session)
    row = ChatVisitor(
        widget_id=widget.id,
        token_hash=token_hash(token),
        public_id=secrets.token_hex(12),
        name=name[:200],
        email_confirmed=False,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    if identity is not None:
        prove_identity(session, widget, row, email=identity[0], name=identity[1], signature=identity[2])
    return value_of(row), token


def by_token(session: Session, widget: WidgetSettings, token: str | None, *, for_update: bool = False) -> Visitor:
    return value_of(row_by_token(session, widget, token, for_update=for_update))


def seen(row: ChatVisitor, now: datetime) -> None:
    """Notes that the visitor was here, to the minute: a chat message need not rewrite the row each time."""
    if now - row.last_seen_at >= SEEN_GRANULARITY:
        row.last_seen_at = now


def row_by_token(
    session: Session, widget: WidgetSettings, token: str | None, *, for_update: bool = False
) -> ChatVisitor:
    """The widget's visitor with this token; ``Unauthorized`` for anything else (another widget's too)."""
    if not token or len(token) > 200:
        raise Unauthorized("This chat visitor is not known; start again.", code="unknown_visitor")
    query = sa.select(ChatVisitor).where(ChatVisitor.token_hash == token_hash(token))
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None or row.widget_id != widget.id:
        raise Unauthorized("This chat visitor is not known; start again.", code="unknown_visitor")
    return row


def ensure_customer(session: Session, row: ChatVisitor) -> int:
    """The visitor's customer, created on their first message when they gave no address."""
    if row.customer_id is not None:
        return row.customer_id
    customer = customers_service.create_customer(
        session,
        SYSTEM,
        data=CustomerCreate(
            name=row.name or f"Chat visitor {row.public_id[:6]}",
            identities=[IdentityIn(kind=IdentityKind.chat, value=row.public_id)],
        ),
    )
    row.customer_id = customer.id
    return customer.id


def _customer_for(session: Session, email: str, name: str) -> int:
    customer = customers_service.find_or_create_by_email(session, email=email, name=name)
    return customer.merged_into_id or customer.id


def _link(session: Session, row: ChatVisitor, customer_id: int) -> None:
    """The visitor is this customer from now on; a record of their own (no address) merges into it."""
    previous = row.customer_id
    row.customer_id = customer_id
    if previous is None or previous == customer_id:
        return
    _name, email = customers_queries.summaries(session, {previous}).get(previous, ("", None))
    if email is None:
        customers_merge.merge_customers(session, SYSTEM, source_id=previous, target_id=customer_id)


def give_email(session: Session, row: ChatVisitor, *, email: str) -> None:
    """An address typed in the widget, not proven: the chat is linked to that customer for agents only."""
    address = email.strip().lower()
    if row.email == address:
        return
    _link(session, row, _customer_for(session, address, row.name))
    row.email = address
    row.email_confirmed = False
    row.confirmed_by = None


def _confirm(session: Session, row: ChatVisitor, email: str, *, by: str) -> None:
    address = email.strip().lower()
    _link(session, row, _customer_for(session, address, row.name))
    row.email = address
    row.email_confirmed = True
    row.confirmed_by = by


def prove_identity(
    session: Session, widget: WidgetSettings, row: ChatVisitor, *, email: str, name: str, signature: str
) -> Visitor:
    """The site signed who its visitor is (``data-user-email``/``-name``/``-signature``)."""
    secret = widget_service.identity_secret(session, widget.id)
    if not widget_service.verify_identity(secret, email=email, name=name, signature=signature):
        raise Invalid("The site's signature of this visitor does not match.", field="signature", code="bad_signature")
    if name and not row.name:
        row.name = name[:200]
    if not (row.email_confirmed and row.email == email.strip().lower()):
        _confirm(session, row, email, by="signature")
    session.flush()
    return value_of(row)


def _pepper(session: Session) -> bytes:
    secret = session.info.get(SECRET_KEY_INFO)
    if secret is None:
        raise RuntimeError("this session has no secret key: build it through okno.runtime.Runtime")
    return hashlib.sha256(b"okno chat codes\0" + str(secret()).encode()).digest()


def _code_hash(session: Session, visitor_id: int, email: str, code: str) -> str:
    return hmac.new(_pepper(session), f"{visitor_id}\0{email}\0{code}".encode(), hashlib.sha256).hexdigest()


def request_code(session: Session, row: ChatVisitor, *, email: str, client: str, locale: str) -> None:
    """Mails a six-digit code to the address. The caller answers the same whatever the address."""
    address = email.strip().lower()
    limits = [
        rate_limits.Limit(f"chat-code:email:{address}", *CODE_PER_EMAIL),
        rate_limits.Limit(f"chat-code:visitor:{row.id}", *CODE_PER_VISITOR),
        rate_limits.Limit(f"chat-code:client:{client}", *CODE_PER_CLIENT),
    ]
    rate_limits.check(session, limits, message="Too many codes were asked for; try again later.")
    rate_limits.record(session, [limit.key for limit in limits])
    now = utcnow(session)
    # Only the newest code counts: asking again spends the earlier ones.
    session.execute(
        sa.update(ChatEmailCode)
        .where(ChatEmailCode.visitor_id == row.id, ChatEmailCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    entry = ChatEmailCode(
        visitor_id=row.id,
        email=address,
        code_hash=_code_hash(session, row.id, address, code),
        attempts=0,
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    session.add(entry)
    session.flush()
    sealed = sealer_for(session, purpose=CODE_SEAL_PURPOSE).seal(code)
    enqueue(
        session,
        SEND_CODE_JOB,
        {"code_id": entry.id, "sealed_code": sealed, "locale": locale},
        key=f"chat-code:{entry.id}",
    )


def confirm_code(session: Session, row: ChatVisitor, *, code: str) -> Visitor | None:
    """The visitor typed the mailed code: confirmed (and linked), or None (the attempt counts)."""
    now = utcnow(session)
    entry = session.scalar(
        sa.select(ChatEmailCode)
        .where(ChatEmailCode.visitor_id == row.id, ChatEmailCode.used_at.is_(None), ChatEmailCode.expires_at > now)
        .order_by(ChatEmailCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if entry is None or entry.attempts >= CODE_ATTEMPTS:
        return None
    entry.attempts += 1
    given = "".join(ch for ch in code if ch.isdigit())[:6]
    if not hmac.compare_digest(entry.code_hash, _code_hash(session, row.id, entry.email, given)):
        return None
    entry.used_at = now
    _confirm(session, row, entry.email, by="code")
    session.flush()
    return value_of(row)


def code_for_mail(session: Session, code_id: int) -> ChatEmailCode | None:
    """The code row a mailing job is about, if it can still be used."""
    entry = session.get(ChatEmailCode, code_id)
    if entry is None or entry.used_at is not None or entry.expires_at <= utcnow(session):
        return None
    return entry


def sweep_codes(session: Session) -> int:
    cutoff = utcnow(session) - timedelta(days=1)
    result = session.execute(sa.delete(ChatEmailCode).where(ChatEmailCode.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
