from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"
    light_agent = "light_agent"
    customer = "customer"


STAFF_ROLES = frozenset({Role.admin, Role.supervisor, Role.agent, Role.light_agent})
# Who may own a conversation (a light agent may only comment).
ASSIGNABLE_ROLES = (Role.admin, Role.supervisor, Role.agent)


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TeamMembership(Base):
    __tablename__ = "team_memberships"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True)


class User(Base):
    """Staff and customer accounts. A customer account points at its customer record."""

    __tablename__ = "users"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(sa.String(20))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    limited_to_teams: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list[str]] = mapped_column(JSONData, default=list)
    skills: Mapped[list[str]] = mapped_column(JSONData, default=list)
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Plain text under the agent's email replies.
    signature: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    teams: Mapped[list[Team]] = relationship(secondary="team_memberships", lazy="raise", order_by=Team.name)


class ApiToken(Base):
    """Bearer tokens. Only a SHA-256 of the token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(Base):
    """A single-use link that lets an invited person choose their password and sign in.

    Only a SHA-256 of the token is stored (as for API tokens and web sessions); the link is
    shown once to the administrator who sends it. A new link for the same person revokes
    the older ones.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """Failed sign-ins, counted per address and per client to rate-limit guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_key_time", "key", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, as the key."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Sent back with every form and htmx request; a cross-site page cannot read it.
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    remember: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PresenceStatus(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


class AgentPresence(Base):
    """What an agent chose (online, away, offline) and when a page of theirs last showed signs of life.

    The effective presence is offline once no heartbeat came for a while, whatever was chosen:
    a closed laptop must not stay "online" for routing.
    """

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    chosen: Mapped[PresenceStatus] = mapped_column(sa.String(20))
    # Set when Okno made the agent away for inactivity, so activity makes them online again.
    auto_away: Mapped[bool] = mapped_column(default=False)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PresenceChange(Base):
    """Every change of an agent's chosen presence, for staffing and analytics."""

    __tablename__ = "presence_changes"
    __table_args__ = (sa.Index("ix_presence_changes_user_time", "user_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[PresenceStatus] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(20))  # chosen, inactivity, heartbeat_lost
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
