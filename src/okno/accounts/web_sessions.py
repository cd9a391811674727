"""Signed-in browsers: server-side sessions behind an HttpOnly cookie.

The cookie carries 256 random bits; the table keeps only their SHA-256, so a leaked table
signs no one in. Each session has its own CSRF token for the forms and htmx requests of
that browser. Sessions end on sign-out, on expiry, when the user is deactivated, and all
but the current one when the password changes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.models import STAFF_ROLES, Role, User, WebSession
from okno.accounts.permissions import Actor
from okno.accounts.security import hash_password, verify_password
from okno.db import utcnow
from okno.errors import Invalid

REMEMBERED = timedelta(days=30)
NOT_REMEMBERED = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    user: User
    session_id: str
    csrf_token: str


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, *, remember: bool, user_agent: str) -> tuple[WebSession, str]:
    """A new session for a user whose password was just checked; returns it and the cookie value."""
    token = secrets.token_urlsafe(32)
    now = utcnow(session)
    row = WebSession(
        id=_key(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        remember=remember,
        user_agent=user_agent[:300],
        created_at=now,
        expires_at=now + (REMEMBERED if remember else NOT_REMEMBERED),
    )
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Session, token: str | None) -> SignedIn | None:
    """The signed-in staff user behind a cookie, or None (unknown, expired, deactivated)."""
    if not token:
        return None
    row = session.execute(
        sa.select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == _key(token), WebSession.expires_at > utcnow(session), User.is_active.is_(True))
    ).first()
    if row is None or row[1].role not in STAFF_ROLES:
        return None
    web_session, user = row
    return SignedIn(
        actor=accounts_service.actor_for(session, user),
        user=user,
        session_id=web_session.id,
        csrf_token=web_session.csrf_token,
    )


def resolve_customer(session: Session, token: str | None) -> SignedIn | None:
    """The signed-in customer behind a portal cookie, or None; staff sessions never count here."""
    if not token:
        return None
    row = session.execute(
        sa.select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.id == _key(token), WebSession.expires_at > utcnow(session), User.is_active.is_(True))
    ).first()
    if row is None or row[1].role != Role.customer or row[1].customer_id is None:
        return None
    web_session, user = row
    return SignedIn(
        actor=accounts_service.actor_for(session, user),
        user=user,
        session_id=web_session.id,
        csrf_token=web_session.csrf_token,
    )


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(sa.delete(WebSession).where(WebSession.id == _key(token)))


def change_password(session: Session, signed_in: SignedIn, *, current: str, new: str) -> None:
    """Checks the current password, sets the new one, and signs out every other browser."""
    user = session.get(User, signed_in.user.id)
    assert user is not None
    if not verify_password(user.password_hash, current):
        raise Invalid("the current password is not right", field="current_password")
    if len(new) < 10:
        raise Invalid("use at least 10 characters", field="new_password")
    if new == current:
        raise Invalid("the new password must differ from the current one", field="new_password")
    user.password_hash = hash_password(new)
    user.updated_at = utcnow(session)
    session.execute(sa.delete(WebSession).where(WebSession.user_id == user.id, WebSession.id != signed_in.session_id))


def sweep_expired(session: Session) -> int:
    result = session.execute(sa.delete(WebSession).where(WebSession.expires_at <= utcnow(session)))
    return int(getattr(result, "rowcount", 0) or 0)
