"""Macros: saved replies with placeholders and optional actions, personal, per team or for everyone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class MacroScope(StrEnum):
    personal = "personal"  # its owner's only
    team = "team"  # the team's members (and admins and supervisors, who manage it)
    everyone = "everyone"  # every member of staff


class Macro(Base):
    __tablename__ = "macros"
    __table_args__ = (
        # Exactly the owner a scope needs: a personal macro has a user, a team macro a team.
        sa.CheckConstraint(
            "(scope = 'personal' AND owner_id IS NOT NULL AND team_id IS NULL)"
            " OR (scope = 'team' AND team_id IS NOT NULL AND owner_id IS NULL)"
            " OR (scope = 'everyone' AND owner_id IS NULL AND team_id IS NULL)",
            name="scope_owner",
        ),
        sa.Index("ix_macros_scope_team", "scope", "team_id"),
        # Events name macros by id (macro_applied): ids are never handed out twice.
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # What it writes: a public reply or an internal note.
    kind: Mapped[str] = mapped_column(sa.String(10), default="reply")
    # {"status", "priority", "add_tags", "remove_tags", "assignee" ("me" | "nobody" | user id), "team_id"}
    actions: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    scope: Mapped[MacroScope] = mapped_column(sa.String(20))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    usage_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
