"""agent presence: chosen status, heartbeats, and the history of changes

Revision ID: e7ea77dd4922
Revises: 6a38ed77c3f3
Create Date: 2026-11-23 07:22:32.026061
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "e7ea77dd4922"
down_revision: str | None = "6a38ed77c3f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_presence",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chosen", sa.String(length=20), nullable=False),
        sa.Column("auto_away", sa.Boolean(), nullable=False),
        sa.Column("last_heartbeat_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_presence_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_presence")),
    )
    with op.batch_alter_table("agent_presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_presence_last_heartbeat_at"), ["last_heartbeat_at"], unique=False)

    op.create_table(
        "presence_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_presence_changes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_changes")),
    )
    with op.batch_alter_table("presence_changes", schema=None) as batch_op:
        batch_op.create_index("ix_presence_changes_user_time", ["user_id", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("presence_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_presence_changes_user_time")

    op.drop_table("presence_changes")
    with op.batch_alter_table("agent_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_presence_last_heartbeat_at"))

    op.drop_table("agent_presence")
