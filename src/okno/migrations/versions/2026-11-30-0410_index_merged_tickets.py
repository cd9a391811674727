"""index tickets by the ticket they were merged into (the ticket page reads it on every view)

Revision ID: 3b9f6c2d8a41
Revises: 7585af791646
Create Date: 2026-11-30 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b9f6c2d8a41"
down_revision: str | None = "7585af791646"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_merged_into",
            ["merged_into_id"],
            unique=False,
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_merged_into")
