"""Business-hours calendars as stored: the week's intervals, holidays, special dates, and which team uses which.

The arithmetic never reads these rows directly: ``service.calendar_for_team`` turns them into a
frozen ``calendar.BusinessCalendar`` (cached per ``revision``, a token changed by every write).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class Calendar(Base):
    __tablename__ = "business_calendars"
    __table_args__ = (
        # At most one default calendar: the one teams without their own calendar work by.
        sa.Index(
            "uq_business_calendars_default",
            "is_default",
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    is_default: Mapped[bool] = mapped_column(default=False)
    # Shown on the public "when support works" page.
    public: Mapped[bool] = mapped_column(default=True)
    # A new random token on every change to the calendar or its rows: the key of built calendars.
    revision: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    intervals: Mapped[list[WeeklyInterval]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="(WeeklyInterval.weekday, WeeklyInterval.starts)"
    )
    holidays: Mapped[list[Holiday]] = relationship(lazy="raise", cascade="all, delete-orphan", order_by="Holiday.day")
    special_days: Mapped[list[SpecialDate]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="SpecialDate.day"
    )


class WeeklyInterval(Base):
    """Open from ``starts`` to ``ends`` on a weekday (0 = Monday); an overnight one ends the next day."""

    __tablename__ = "business_calendar_intervals"
    __table_args__ = (sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("business_calendars.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    starts: Mapped[time] = mapped_column(sa.Time)
    ends: Mapped[time] = mapped_column(sa.Time)
    overnight: Mapped[bool] = mapped_column(default=False)


class Holiday(Base):
    """Closed on ``day``; a yearly holiday on its month and day every year (the year is only an example)."""

    __tablename__ = "business_calendar_holidays"
    __table_args__ = (sa.UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    yearly: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(sa.String(200), default="")


class SpecialDate(Base):
    """A date with its own hours (a working Saturday) or closed (no hours), instead of the week and holidays."""

    __tablename__ = "business_calendar_special_days"
    __table_args__ = (sa.UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    # [{"start": "10:00", "end": "14:00", "overnight": false}, ...]; empty: closed all day.
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)


class TeamCalendar(Base):
    """The calendar a team works by; a team without a row uses the default calendar."""

    __tablename__ = "business_calendar_teams"

    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("business_calendars.id", ondelete="CASCADE"), index=True)
