"""SLA policies, and the state of every ticket's SLA targets (kept for the inbox, the breach sweep and analytics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class SlaPolicy(Base):
    __tablename__ = "sla_policies"
    # Events name policies by id (sla_breached, sla_targets_changed): ids are never handed out twice.
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    # 1, 2, 3 …: the order policies are checked in; the service keeps it without gaps.
    position: Mapped[int] = mapped_column(sa.Integer)
    enabled: Mapped[bool] = mapped_column(default=True)
    # schemas.PolicyConditions: priorities, plans, channels, team_ids (empty: any).
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # schemas.PolicyTargets: minutes per target, by default and per priority.
    targets: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    business_hours: Mapped[bool] = mapped_column(default=True)
    pause_when_pending: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaTarget(Base):
    """One target of one ticket as last worked out: due time, outcome, and whether it was warned and breached.

    Rewritten from the ticket's history whenever the ticket changes (``evaluation``); the rows of
    met and breached targets stay for analytics. ``warned_at`` and ``breach_recorded_at`` are set
    once, by a conditional UPDATE, so a warning and an ``sla_breached`` event happen once per
    target however many workers look.
    """

    __tablename__ = "sla_targets"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "kind", "cycle"),
        # The sweep: targets past due whose breach is not recorded yet ...
        sa.Index(
            "ix_sla_targets_breach_due",
            "due_at",
            postgresql_where=sa.text("achieved_at IS NULL AND breach_recorded_at IS NULL"),
            sqlite_where=sa.text("achieved_at IS NULL AND breach_recorded_at IS NULL"),
        ),
        # ... and targets due soon that nobody was warned about.
        sa.Index(
            "ix_sla_targets_warning_due",
            "due_at",
            postgresql_where=sa.text("achieved_at IS NULL AND warned_at IS NULL"),
            sqlite_where=sa.text("achieved_at IS NULL AND warned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # clock.TargetKind
    cycle: Mapped[int] = mapped_column(sa.Integer, default=0)  # next responses: 1, 2, …
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sla_policies.id", ondelete="SET NULL"))
    business_hours: Mapped[bool] = mapped_column(default=False)
    target_minutes: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None while paused
    paused: Mapped[bool] = mapped_column(default=False)
    # Counted seconds as of ``evaluated_at`` (business seconds under a business-hours policy).
    elapsed_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    paused_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    remaining_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    achieved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(sa.String(20))  # clock.Outcome
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
