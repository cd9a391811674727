"""Mailboxes: the addresses customers write to, how mail reaches Okno, how replies leave it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.channels.email.models import InboundEmail, Mailbox
from okno.channels.email.schemas import SETTINGS, MailboxCreate, MailboxUpdate
from okno.crypto import Sealer
from okno.db import is_unique_violation, utcnow
from okno.errors import Conflict, Invalid, NotFound


def normalise_address(address: str) -> str:
    return address.strip().lower()


def base_address(address: str) -> str:
    """``support+orders@shop.example`` is delivered to ``support@shop.example`` (sub-addressing)."""
    local, _, domain = normalise_address(address).rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def add_mailbox(session: Session, actor: Actor, *, data: MailboxCreate, sealer: Sealer) -> Mailbox:
    require_admin(actor)
    if data.team_id is not None and not accounts_queries.team_exists(session, data.team_id):
        raise Invalid("No such team.", field="team_id")
    mailbox = Mailbox(
        address=normalise_address(str(data.address)),
        **{name: getattr(data, name) for name in SETTINGS},
        imap_password_sealed=sealer.seal(data.imap_password) if data.imap_password else None,
        smtp_password_sealed=sealer.seal(data.smtp_password) if data.smtp_password else None,
        is_active=True,
        created_at=utcnow(session),
    )
    try:
        with session.begin_nested():
            session.add(mailbox)
            session.flush()
    except sa.exc.IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict("A mailbox with this address exists already.", code="mailbox_exists") from exc
        raise
    return mailbox


def update_mailbox(session: Session, actor: Actor, mailbox_id: int, *, data: MailboxUpdate, sealer: Sealer) -> Mailbox:
    """Changes a mailbox's settings; a password left empty stays as stored (they are never shown)."""
    mailbox = get_mailbox(session, actor, mailbox_id)
    if data.team_id is not None and not accounts_queries.team_exists(session, data.team_id):
        raise Invalid("No such team.", field="team_id")
    before = (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_password_sealed)
    for name in (*SETTINGS, "is_active"):
        setattr(mailbox, name, getattr(data, name))
    address = normalise_address(str(data.address))
    for kind in ("imap", "smtp"):
        new = getattr(data, f"{kind}_password")
        if new:
            setattr(mailbox, f"{kind}_password_sealed", sealer.seal(new))
        elif getattr(data, f"clear_{kind}_password"):
            setattr(mailbox, f"{kind}_password_sealed", None)
    if before != (mailbox.imap_host, mailbox.imap_port, mailbox.imap_username, mailbox.imap_password_sealed):
        # New server or credentials: the old error says nothing about them; fetch at the next poll.
        mailbox.last_fetch_error = None
        mailbox.last_fetch_at = None
    mailbox.address = address
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict("A mailbox with this address exists already.", code="mailbox_exists") from exc
        raise
    return mailbox


def list_mailboxes(session: Session, actor: Actor) -> list[Mailbox]:
    require_admin(actor)
    return list(session.scalars(sa.select(Mailbox).order_by(Mailbox.address)))


def get_mailbox(session: Session, actor: Actor, mailbox_id: int) -> Mailbox:
    require_admin(actor)
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise NotFound("Mailbox not found.")
    return mailbox


def for_recipient(session: Session, address: str) -> Mailbox | None:
    """The active mailbox that mail to ``address`` belongs to (exact, or without a +tag)."""
    candidates = {normalise_address(address), base_address(address)}
    return session.scalars(
        sa.select(Mailbox)
        .where(Mailbox.address.in_(sorted(candidates)), Mailbox.is_active.is_(True))
        .order_by(sa.func.length(Mailbox.address).desc())
    ).first()


def received_through(session: Session, ticket_id: int) -> int | None:
    """The mailbox whose mail opened the ticket (None for tickets that did not come by email)."""
    return session.scalar(
        sa.select(InboundEmail.mailbox_id).where(InboundEmail.ticket_id == ticket_id).order_by(InboundEmail.id).limit(1)
    )
