"""customer merges and note revisions

Revision ID: 4b4dcb553eaf
Revises: e7ea77dd4922
Create Date: 2026-11-30 03:07:33.013018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import okno.db

revision: str = "4b4dcb553eaf"
down_revision: str | None = "e7ea77dd4922"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_reference(table: str, column: str, target: str, constraint: str) -> None:
    """A nullable id column referring to ``target`` (table.id).

    On SQLite a plain ADD COLUMN with the reference inline: batch mode's "copy and move" would
    drop the old table, and its ON DELETE CASCADE would empty identities and notes on the way.
    """
    if op.get_bind().dialect.name == "sqlite":
        target_table = target.split(".")[0]
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {constraint} REFERENCES {target_table} (id)"
        )
        return
    op.add_column(table, sa.Column(column, okno.db.BigId, nullable=True))
    op.create_foreign_key(constraint, table, target.split(".")[0], [column], ["id"])


def upgrade() -> None:
    op.create_table(
        "customer_note_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("note_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("written_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("replaced_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["customer_notes.id"],
            name=op.f("fk_customer_note_revisions_note_id_customer_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["users.id"], name=op.f("fk_customer_note_revisions_replaced_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["users.id"], name=op.f("fk_customer_note_revisions_written_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_note_revisions")),
    )
    op.create_index("ix_customer_note_revisions_note", "customer_note_revisions", ["note_id", "id"], unique=False)

    op.add_column("customer_notes", sa.Column("edited_at", okno.db.UTCDateTime(timezone=True), nullable=True))
    _add_reference("customer_notes", "edited_by_id", "users.id", "fk_customer_notes_edited_by_id_users")
    _add_reference("customers", "merged_into_id", "customers.id", "fk_customers_merged_into_id_customers")
    op.add_column("customers", sa.Column("merged_at", okno.db.UTCDateTime(timezone=True), nullable=True))
    _add_reference("customers", "merged_by_id", "users.id", "fk_customers_merged_by_id_users")
    op.create_index(op.f("ix_customers_merged_into_id"), "customers", ["merged_into_id"], unique=False)


def downgrade() -> None:
    # On SQLite the batch copy of customers drops the old table: run a downgrade there on a copy.
    op.drop_index(op.f("ix_customers_merged_into_id"), table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("merged_by_id")
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")
    with op.batch_alter_table("customer_notes", schema=None) as batch_op:
        batch_op.drop_column("edited_by_id")
        batch_op.drop_column("edited_at")
    op.drop_index("ix_customer_note_revisions_note", table_name="customer_note_revisions")
    op.drop_table("customer_note_revisions")
