"""Ticket numbers on PostgreSQL from the column's default, nextval of ticket_number_seq

Revision ID: 5d2f8b1c3e60
Revises: 4c1e7a9d2b50
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d2f8b1c3e60"
down_revision: str | None = "4c1e7a9d2b50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite has no sequences: its tickets keep being numbered from okno_sequences by the service.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets ALTER COLUMN number SET DEFAULT nextval('ticket_number_seq')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE tickets ALTER COLUMN number DROP DEFAULT")
