"""inbox: saved views; priority rank and waiting-since on tickets, with indexes for every sort

Revision ID: 3b1f0c9d2a71
Revises: 3f9c1b7d52a4
Create Date: 2026-11-30 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "3b1f0c9d2a71"
down_revision: str | None = "3f9c1b7d52a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKET_INDEXES = {
    "ix_tickets_team_priority": ["team_id", "priority_rank", "last_activity_at", "id"],
    "ix_tickets_team_waiting": ["team_id", "waiting_since", "id"],
    "ix_tickets_team_created": ["team_id", "created_at", "id"],
    "ix_tickets_priority": ["priority_rank", "last_activity_at", "id"],
    "ix_tickets_waiting": ["waiting_since", "id"],
}


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no table rebuild on SQLite).
    op.add_column("tickets", sa.Column("priority_rank", sa.SmallInteger(), server_default="1", nullable=False))
    op.add_column("tickets", sa.Column("waiting_since", okno.db.UTCDateTime(timezone=True), nullable=True))
    # One pass over the tickets (each rewritten row costs, at a million tickets that is minutes):
    # the rank of the priority, and since when the customer has waited: their oldest message after
    # the last public reply (none: not waiting). Indexes are built afterwards, once.
    op.execute(
        """
        UPDATE tickets SET
            priority_rank = CASE priority
                WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END,
            waiting_since = (
                SELECT MIN(m.created_at) FROM messages m
                WHERE m.ticket_id = tickets.id AND m.kind = 'inbound'
                  AND m.id > COALESCE(
                      (SELECT MAX(r.id) FROM messages r WHERE r.ticket_id = tickets.id AND r.kind = 'reply'), 0))
        WHERE merged_into_id IS NULL OR priority <> 'normal'
        """
    )
    for name, columns in TICKET_INDEXES.items():
        op.create_index(name, "tickets", columns, unique=False)

    op.create_table(
        "saved_views",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("filters", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("sort", sa.String(length=40), nullable=False),
        sa.Column("created_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_saved_views_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_views_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_saved_views_scope", "saved_views", ["scope", "team_id"], unique=False)
    op.create_index(op.f("ix_saved_views_owner_user_id"), "saved_views", ["owner_user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_views_owner_user_id"), table_name="saved_views")
    op.drop_index("ix_saved_views_scope", table_name="saved_views")
    op.drop_table("saved_views")
    for name in TICKET_INDEXES:
        op.drop_index(name, table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("waiting_since")
        batch_op.drop_column("priority_rank")
