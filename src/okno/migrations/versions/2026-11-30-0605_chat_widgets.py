"""Chat widgets: allowed origins, look, pre-chat topics and their teams, the sealed identity secret

Revision ID: 6a2c4e8b1d05
Revises: 4db968763ec8
Create Date: 2026-11-30 06:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from okno.db import UTCDateTime

revision: str = "6a2c4e8b1d05"
down_revision: str | None = "4db968763ec8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_widgets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "allowed_origins",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("position", sa.String(length=10), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ask_name", sa.Boolean(), nullable=False),
        sa.Column("ask_email", sa.Boolean(), nullable=False),
        sa.Column("idle_close_minutes", sa.Integer(), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("secret_rotated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_chat_widgets_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_widgets")),
        sa.UniqueConstraint("key", name=op.f("uq_chat_widgets_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "chat_widget_topics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("widget_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_chat_widget_topics_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["widget_id"],
            ["chat_widgets.id"],
            name=op.f("fk_chat_widget_topics_widget_id_chat_widgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_widget_topics")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_chat_widget_topics_widget", "chat_widget_topics", ["widget_id", "position"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_widget_topics_widget", table_name="chat_widget_topics")
    op.drop_table("chat_widget_topics")
    op.drop_table("chat_widgets")
