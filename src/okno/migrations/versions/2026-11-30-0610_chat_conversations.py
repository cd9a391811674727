"""Chat conversations: widget visitors (hashed tokens), their conversations, email codes; read marks on messages

Revision ID: 7b3d5f9c2e10
Revises: 6c4b2e9a7d15
Create Date: 2026-11-30 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from okno.db import UTCDateTime

revision: str = "7b3d5f9c2e10"
down_revision: str | None = "6c4b2e9a7d15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain added column: batch mode would recreate the messages table (and cascade deletes on SQLite).
    op.add_column("messages", sa.Column("read_at", UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "chat_visitors",
        sa.Column("id", ID, nullable=False),
        sa.Column("widget_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=20), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_chat_visitors_customer_id_customers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["widget_id"], ["chat_widgets.id"], name=op.f("fk_chat_visitors_widget_id_chat_widgets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_visitors")),
        sa.UniqueConstraint("public_id", name=op.f("uq_chat_visitors_public_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_chat_visitors_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_chat_visitors_customer_id"), "chat_visitors", ["customer_id"], unique=False)
    op.create_index(op.f("ix_chat_visitors_widget_id"), "chat_visitors", ["widget_id"], unique=False)
    op.create_table(
        "chat_conversations",
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("widget_id", ID, nullable=False),
        sa.Column("visitor_id", ID, nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_chat_conversations_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_conversations_visitor_id_chat_visitors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["widget_id"],
            ["chat_widgets.id"],
            name=op.f("fk_chat_conversations_widget_id_chat_widgets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_chat_conversations")),
    )
    op.create_index("ix_chat_conversations_open", "chat_conversations", ["closed_at", "offline"], unique=False)
    op.create_index(op.f("ix_chat_conversations_visitor_id"), "chat_conversations", ["visitor_id"], unique=False)
    op.create_index(op.f("ix_chat_conversations_widget_id"), "chat_conversations", ["widget_id"], unique=False)
    op.create_table(
        "chat_email_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("visitor_id", ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["chat_visitors.id"],
            name=op.f("fk_chat_email_codes_visitor_id_chat_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_email_codes")),
    )
    op.create_index(op.f("ix_chat_email_codes_expires_at"), "chat_email_codes", ["expires_at"], unique=False)
    op.create_index(op.f("ix_chat_email_codes_visitor_id"), "chat_email_codes", ["visitor_id"], unique=False)


def downgrade() -> None:
    op.drop_table("chat_email_codes")
    op.drop_table("chat_conversations")
    op.drop_table("chat_visitors")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("read_at")
