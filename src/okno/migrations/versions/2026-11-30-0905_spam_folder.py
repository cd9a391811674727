"""The spam folder: tickets.spam_at, the spam filter's rules and settings; spam leaves routing's queue

Revision ID: 4c1e7a9d2b50
Revises: 7a1e3c5b9d20
Create Date: 2026-11-30 09:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from okno.db import UTCDateTime

revision: str = "4c1e7a9d2b50"
down_revision: str | None = "7a1e3c5b9d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WAITING_BEFORE = "assignee_id IS NULL AND status IN ('new', 'open') AND merged_into_id IS NULL"
WAITING_FOR_AGENT = WAITING_BEFORE + " AND spam_at IS NULL"
IN_SPAM = "spam_at IS NOT NULL"


def _waiting_index(predicate: str) -> None:
    op.create_index(
        "ix_tickets_waiting_for_agent",
        "tickets",
        ["team_id", sa.text("priority_rank DESC"), "waiting_since", "id"],
        unique=False,
        postgresql_where=sa.text(predicate),
        sqlite_where=sa.text(predicate),
    )


def upgrade() -> None:
    op.add_column("tickets", sa.Column("spam_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tickets_spam",
        "tickets",
        ["last_activity_at", "id"],
        unique=False,
        postgresql_where=sa.text(IN_SPAM),
        sqlite_where=sa.text(IN_SPAM),
    )
    op.drop_index("ix_tickets_waiting_for_agent", table_name="tickets")
    _waiting_index(WAITING_FOR_AGENT)
    op.create_table(
        "spam_rules",
        sa.Column("id", BigId, nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("match", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", BigId, nullable=True),
        sa.Column("created_by_id", BigId, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_spam_rules_ticket_id_tickets"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_spam_rules_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spam_rules")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "spam_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_spam_settings_updated_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spam_settings")),
    )


def downgrade() -> None:
    op.drop_table("spam_settings")
    op.drop_table("spam_rules")
    op.drop_index("ix_tickets_waiting_for_agent", table_name="tickets")
    _waiting_index(WAITING_BEFORE)
    op.drop_index("ix_tickets_spam", table_name="tickets")
    op.drop_column("tickets", "spam_at")
