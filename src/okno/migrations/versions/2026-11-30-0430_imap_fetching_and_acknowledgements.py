"""IMAP fetch state on mailboxes; automatic acknowledgements (their delivery and the per-sender limit)

Revision ID: 5e1d7a9c3f20
Revises: 5d1e8a7c3f20
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from okno.db import UTCDateTime

revision: str = "5e1d7a9c3f20"
down_revision: str | None = "5d1e8a7c3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_fetch_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_fetch_error", sa.Text(), nullable=True))
    op.create_table(
        "auto_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mailbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column("external_id", sa.String(length=998), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("delivery_status", sa.String(length=20), nullable=False),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailboxes.id"], name=op.f("fk_auto_replies_mailbox_id_mailboxes")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_auto_replies_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_replies")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_auto_replies_ticket_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_auto_replies_recipient", "auto_replies", ["recipient", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_auto_replies_recipient", table_name="auto_replies")
    op.drop_table("auto_replies")
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("last_fetch_error")
        batch_op.drop_column("last_fetch_at")
