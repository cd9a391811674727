"""customer portal: single-use magic sign-in links, stored hashed

Revision ID: 5d1e8a7c3f20
Revises: 3b9f6c2d8a41
Create Date: 2026-11-30 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "5d1e8a7c3f20"
down_revision: str | None = "3b9f6c2d8a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_magic_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", okno.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_magic_links_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_magic_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_magic_links_token_hash")),
    )
    with op.batch_alter_table("portal_magic_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_magic_links_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_magic_links_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_magic_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_magic_links_expires_at"))
        batch_op.drop_index(batch_op.f("ix_portal_magic_links_customer_id"))
    op.drop_table("portal_magic_links")
