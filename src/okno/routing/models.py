"""Routing's own tables: each team's policy and each agent's routing row (the queue is the tickets themselves)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import Base, JSONData, UTCDateTime


class RoutingTeam(Base):
    """How a team's conversations find an agent. A team without a row is routed by hand."""

    __tablename__ = "routing_teams"

    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    policy: Mapped[str] = mapped_column(sa.String(20), default="manual")  # policies.Policy
    skill_match: Mapped[str] = mapped_column(sa.String(20), default="prefer")  # policies.SkillMatch
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoutingAgent(Base):
    """One agent's routing row: their capacities, and the row every routing decision about them locks.

    Routing locks the rows of every agent it may give a conversation to (in user id order, so
    two workers never deadlock) before it counts their loads: two workers can therefore never
    both see the last free place of one agent.
    """

    __tablename__ = "routing_agents"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Channel -> most concurrent open conversations; a channel not listed uses the default.
    capacities: Mapped[dict[str, int]] = mapped_column(JSONData, default=dict)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
