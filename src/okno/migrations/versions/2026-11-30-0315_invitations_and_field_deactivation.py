"""invitations for new staff, and custom fields that can be deactivated

Revision ID: 3f9c1b7d52a4
Revises: 4b4dcb553eaf
Create Date: 2026-11-30 03:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "3f9c1b7d52a4"
down_revision: str | None = "4b4dcb553eaf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", okno.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", okno.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("custom_field_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("custom_field_definitions", schema=None) as batch_op:
        batch_op.drop_column("is_active")

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_user_id"))

    op.drop_table("invitations")
