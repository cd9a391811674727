"""business-hours calendars: weekly intervals, holidays, special dates, and the calendar each team works by

Revision ID: 4db968763ec8
Revises: 5e1d7a9c3f20
Create Date: 2026-11-30 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import okno.db

revision: str = "4db968763ec8"
down_revision: str | None = "5e1d7a9c3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _calendar_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["calendar_id"],
        ["business_calendars.id"],
        name=op.f(f"fk_{table}_calendar_id_business_calendars"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "business_calendars",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("created_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", okno.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_business_calendars_name")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_business_calendars_default",
        "business_calendars",
        ["is_default"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "business_calendar_intervals",
        sa.Column("id", ID, nullable=False),
        sa.Column("calendar_id", ID, nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("overnight", sa.Boolean(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_business_calendar_intervals_weekday")),
        _calendar_fk("business_calendar_intervals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar_intervals")),
    )
    op.create_index(op.f("ix_business_calendar_intervals_calendar_id"), "business_calendar_intervals", ["calendar_id"])
    op.create_table(
        "business_calendar_holidays",
        sa.Column("id", ID, nullable=False),
        sa.Column("calendar_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("yearly", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _calendar_fk("business_calendar_holidays"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar_holidays")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_business_calendar_holidays_calendar_id_day")),
    )
    op.create_table(
        "business_calendar_special_days",
        sa.Column("id", ID, nullable=False),
        sa.Column("calendar_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "hours", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        _calendar_fk("business_calendar_special_days"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendar_special_days")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_business_calendar_special_days_calendar_id_day")),
    )
    op.create_table(
        "business_calendar_teams",
        sa.Column("team_id", ID, nullable=False),
        sa.Column("calendar_id", ID, nullable=False),
        _calendar_fk("business_calendar_teams"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_business_calendar_teams_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_business_calendar_teams")),
    )
    op.create_index(op.f("ix_business_calendar_teams_calendar_id"), "business_calendar_teams", ["calendar_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_business_calendar_teams_calendar_id"), table_name="business_calendar_teams")
    op.drop_table("business_calendar_teams")
    op.drop_table("business_calendar_special_days")
    op.drop_table("business_calendar_holidays")
    op.drop_index(op.f("ix_business_calendar_intervals_calendar_id"), table_name="business_calendar_intervals")
    op.drop_table("business_calendar_intervals")
    op.drop_index("uq_business_calendars_default", table_name="business_calendars")
    op.drop_table("business_calendars")
