"""Jobs run in the transaction that takes them: no more leases

A worker now takes a job and runs it in one transaction (PostgreSQL: FOR UPDATE SKIP LOCKED), so
a job is never left ``running`` by a worker that died, and the lease columns go. A job a worker
of the old kind held when this upgrade ran goes back to the queue.

Revision ID: 7a1e3c5b9d20
Revises: 6b2d8f4a1c30
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from okno.db import UTCDateTime

revision: str = "7a1e3c5b9d20"
down_revision: str | None = "6b2d8f4a1c30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE jobs SET status = 'queued' WHERE status = 'running'")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("locked_by")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("locked_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True))
