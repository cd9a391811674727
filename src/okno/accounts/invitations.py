"""Inviting staff: the account is made without a password and a single-use link lets the person set one.

The link carries 256 random bits; only their SHA-256 is stored, so a leaked table opens no
account. A link works once and for ``VALID_FOR``; a new link for the same person revokes the
older ones. Okno does not send email yet: the administrator copies the link and sends it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service
from okno.accounts.models import STAFF_ROLES, Invitation, User
from okno.accounts.permissions import Actor, require_admin
from okno.accounts.schemas import UserCreate, UserInvite
from okno.accounts.security import hash_password
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound

VALID_FOR = timedelta(days=7)
MIN_PASSWORD = 10


class LinkState(StrEnum):
    valid = "valid"
    used = "used"
    expired = "expired"


@dataclass(frozen=True)
class InvitationCheck:
    state: LinkState
    user_id: int
    name: str
    email: str
    expires_at: datetime


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(session: Session, actor: Actor, user: User) -> tuple[Invitation, str]:
    now = utcnow(session)
    session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    row = Invitation(
        user_id=user.id,
        token_hash=_key(token),
        invited_by_user_id=actor.user_id,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(row)
    session.flush()
    return row, token


def invite_user(session: Session, actor: Actor, *, data: UserInvite) -> tuple[User, Invitation, str]:
    """Creates the staff account (no password yet) and its first link; returns the token once."""
    require_admin(actor)
    user = service.create_user(session, actor, data=UserCreate(**data.model_dump()))
    row, token = _issue(session, actor, user)
    return user, row, token


def reissue(session: Session, actor: Actor, user_id: int) -> tuple[Invitation, str]:
    """A new link for someone who has not set a password yet (the old one was lost or expired)."""
    require_admin(actor)
    user = service.get_user(session, actor, user_id)
    if user.role not in STAFF_ROLES:
        raise NotFound("User not found.")
    if not user.is_active:
        raise Conflict("The account is deactivated; reactivate it first.", code="user_deactivated")
    if user.password_hash is not None:
        raise Conflict("This person has already set a password.", code="already_accepted")
    return _issue(session, actor, user)


def pending(session: Session, user_ids: set[int]) -> dict[int, datetime]:
    """When each user's open invitation expires (past dates are expired), for people without a password."""
    if not user_ids:
        return {}
    rows = session.execute(
        sa.select(Invitation.user_id, sa.func.max(Invitation.expires_at))
        .join(User, User.id == Invitation.user_id)
        .where(
            Invitation.user_id.in_(user_ids),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            User.password_hash.is_(None),
        )
        .group_by(Invitation.user_id)
    )
    return {user_id: expires_at for user_id, expires_at in rows}


def check(session: Session, token: str) -> InvitationCheck:
    """What the link is: valid, already used, or expired. Unknown and revoked links are not found."""
    row = session.execute(
        sa.select(Invitation, User)
        .join(User, User.id == Invitation.user_id)
        .where(Invitation.token_hash == _key(token), Invitation.revoked_at.is_(None))
    ).first()
    if row is None or not row[1].is_active:
        raise NotFound("This invitation link is not valid.")
    invitation, user = row
    if invitation.used_at is not None or user.password_hash is not None:
        # Also when a password was set some other way (the API, the command line): the link is spent.
        state = LinkState.used
    elif invitation.expires_at <= utcnow(session):
        state = LinkState.expired
    else:
        state = LinkState.valid
    return InvitationCheck(state, user.id, user.name, user.email, invitation.expires_at)


def accept(session: Session, *, token: str, password: str) -> User:
    """Sets the invited person's password and uses the link up; the caller signs them in."""
    found = check(session, token)
    if found.state == LinkState.used:
        raise Conflict("This invitation link was already used.", code="invitation_used")
    if found.state == LinkState.expired:
        raise Conflict("This invitation link has expired.", code="invitation_expired")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"use at least {MIN_PASSWORD} characters", field="password")
    now = utcnow(session)
    # A conditional update: of two browsers sending the same link at once, only one wins.
    used = session.execute(
        sa.update(Invitation)
        .where(Invitation.token_hash == _key(token), Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(used_at=now)
    )
    if not getattr(used, "rowcount", 0):
        raise Conflict("This invitation link was already used.", code="invitation_used")
    user = session.get(User, found.user_id, with_for_update=True)
    assert user is not None
    user.password_hash = hash_password(password)
    user.updated_at = now
    # Any other link for the same person is spent too: the account now has a password.
    session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return user
