"""SLA policies, the state of every ticket's SLA targets, the next SLA due time on tickets (with the index of
"SLA at risk") and a detail code on notifications

Revision ID: 6c4b2e9a7d15
Revises: 6b3d5f9c2e40
Create Date: 2026-11-30 06:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from okno.db import UTCDateTime

revision: str = "6c4b2e9a7d15"
down_revision: str | None = "6b3d5f9c2e40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("pause_when_pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sla_targets",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("policy_id", ID, nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("remaining_seconds", sa.Integer(), nullable=False),
        sa.Column("achieved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("warned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("breach_recorded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["sla_policies.id"], name=op.f("fk_sla_targets_policy_id_sla_policies"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_targets_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
        sa.UniqueConstraint("ticket_id", "kind", "cycle", name=op.f("uq_sla_targets_ticket_id_kind_cycle")),
    )
    op.create_index(
        "ix_sla_targets_breach_due",
        "sla_targets",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("achieved_at IS NULL AND breach_recorded_at IS NULL"),
        sqlite_where=sa.text("achieved_at IS NULL AND breach_recorded_at IS NULL"),
    )
    op.create_index(
        "ix_sla_targets_warning_due",
        "sla_targets",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("achieved_at IS NULL AND warned_at IS NULL"),
        sqlite_where=sa.text("achieved_at IS NULL AND warned_at IS NULL"),
    )
    # Plain ADD COLUMN and CREATE INDEX: a batch copy of tickets would cascade deletes on SQLite.
    op.add_column("tickets", sa.Column("sla_due_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tickets_sla_due",
        "tickets",
        ["sla_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
        sqlite_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.add_column("notifications", sa.Column("detail", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "detail")
    op.drop_index("ix_tickets_sla_due", table_name="tickets")
    op.drop_column("tickets", "sla_due_at")
    op.drop_index("ix_sla_targets_warning_due", table_name="sla_targets")
    op.drop_index("ix_sla_targets_breach_due", table_name="sla_targets")
    op.drop_table("sla_targets")
    op.drop_table("sla_policies")
