"""Routing: team policies, agents' routing rows (capacities, the lock), the index of tickets waiting for an agent

Revision ID: 6b2d8f4a1c30
Revises: 7b3d5f9c2e10
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from okno.db import UTCDateTime

revision: str = "6b2d8f4a1c30"
down_revision: str | None = "7b3d5f9c2e10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WAITING_FOR_AGENT = "assignee_id IS NULL AND status IN ('new', 'open') AND merged_into_id IS NULL"
JSONData = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "routing_teams",
        sa.Column("team_id", BigId, nullable=False),
        sa.Column("policy", sa.String(length=20), nullable=False),
        sa.Column("skill_match", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_routing_teams_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_routing_teams")),
    )
    op.create_table(
        "routing_agents",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("capacities", JSONData, nullable=False),
        sa.Column("last_assigned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_routing_agents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_routing_agents")),
    )
    # Routing's queue is the tickets waiting for an agent, served by team, urgency and waiting time.
    op.create_index(
        "ix_tickets_waiting_for_agent",
        "tickets",
        ["team_id", sa.text("priority_rank DESC"), "waiting_since", "id"],
        unique=False,
        postgresql_where=sa.text(WAITING_FOR_AGENT),
        sqlite_where=sa.text(WAITING_FOR_AGENT),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_waiting_for_agent", table_name="tickets")
    op.drop_table("routing_agents")
    op.drop_table("routing_teams")
