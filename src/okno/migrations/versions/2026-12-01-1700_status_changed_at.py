"""When each ticket entered its status, kept on the ticket for the time-based rules

Revision ID: 6e3a9c4d1f70
Revises: 5d2f8b1c3e60
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "6e3a9c4d1f70"
down_revision: str | None = "5d2f8b1c3e60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("status_changed_at", okno.db.UTCDateTime(timezone=True), nullable=True))
    # What the time-based rules computed from the events until now: the last status change, else the creation.
    op.execute(
        "UPDATE tickets SET status_changed_at = coalesce("
        "(SELECT max(e.occurred_at) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'status_changed'),"
        " created_at)"
    )
    op.create_index("ix_tickets_status_since", "tickets", ["status", "status_changed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_status_since", table_name="tickets")
    op.drop_column("tickets", "status_changed_at")
