"""Rules: triggers run on ticket changes, time-based automations run by the scheduler."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class RuleKind(StrEnum):
    trigger = "trigger"  # runs when a ticket changes (tickets.reactions)
    timed = "timed"  # runs on the scheduler when a ticket has been in a state for a while


class Rule(Base):
    """One rule: when (triggers or a timer), if (conditions), then (actions), in ``position`` order.

    ``triggers``, ``timer``, ``conditions`` and ``actions`` hold the shapes of ``schemas`` as JSON,
    checked when saved. Events a rule records name it (actor ``rule``, its id), so ids are never
    handed out twice.
    """

    __tablename__ = "rules"
    __table_args__ = (sa.Index("ix_rules_kind_position", "kind", "active", "position", "id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[RuleKind] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    triggers: Mapped[list[str]] = mapped_column(JSONData, default=list)
    # {"state": "pending", "minutes": 4320, "business_time": false} for a timed rule; {} for a trigger.
    timer: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    # Rules Okno seeds ("acknowledge_email", "remind_pending", ...): editable, found again by this key.
    system_key: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    # Why its actions last failed on a ticket (shown to admins); cleared when the rule is saved.
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class RuleFiring(Base):
    """A time-based rule fired on a ticket for the state that began at ``anchor_at``: once, ever.

    The unique key is what makes a run idempotent across workers and retries: the row is written
    with the rule's actions, and a second writer of the same key does nothing. A ticket that leaves
    the state and enters it again has a new anchor, so the rule may fire again then.
    """

    __tablename__ = "rule_firings"
    __table_args__ = (sa.UniqueConstraint("rule_id", "ticket_id", "anchor_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("rules.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None when the actions were carried out; otherwise why they were not (the firing still counts).
    error: Mapped[str | None] = mapped_column(sa.Text)
