"""Reading calendars: for the API, the admin pages and the public "when support works" page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.automation.business_hours import service
from okno.automation.business_hours.calendar import WEEKDAYS, BusinessCalendar, is_open, next_closing, next_opening
from okno.automation.business_hours.models import Calendar
from okno.automation.business_hours.schemas import CalendarRead, HolidayRead, HoursRead, SpecialDayRead


def list_calendars(session: Session, *, public_only: bool = False) -> list[Calendar]:
    """Every calendar (or the public ones), the default first, with their rows loaded."""
    query = (
        sa.select(Calendar)
        .options(selectinload(Calendar.intervals), selectinload(Calendar.holidays), selectinload(Calendar.special_days))
        .order_by(Calendar.is_default.desc(), Calendar.name)
    )
    if public_only:
        query = query.where(Calendar.public.is_(True))
    return list(session.scalars(query))


def to_read(session: Session, row: Calendar, now: datetime, team_ids: list[int] | None = None) -> CalendarRead:
    built = service.business_calendar(row)
    if team_ids is None:
        team_ids = service.team_ids_of(session, [row.id])[row.id]
    week: dict[str, list[HoursRead]] = {name: [] for name in WEEKDAYS}
    for interval in row.intervals:
        week[WEEKDAYS[interval.weekday]].append(
            HoursRead(start=interval.starts, end=interval.ends, overnight=interval.overnight)
        )
    return CalendarRead.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "time_zone": row.time_zone,
            "is_default": row.is_default,
            "public": row.public,
            "week": week,
            "holidays": [HolidayRead.model_validate(h) for h in row.holidays],
            "special_days": [
                SpecialDayRead(day=s.day, name=s.name, hours=[HoursRead.model_validate(h) for h in s.hours])
                for s in row.special_days
            ],
            "team_ids": team_ids,
            "open_now": is_open(built, now),
            "next_opening": next_opening(built, now),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


def to_reads(session: Session, rows: list[Calendar], now: datetime) -> list[CalendarRead]:
    teams = service.team_ids_of(session, [r.id for r in rows])
    return [to_read(session, r, now, teams[r.id]) for r in rows]


@dataclass(frozen=True)
class DayOff:
    """Dates in the coming weeks with other hours than usual: a holiday, or a special date.

    Closed days in a row (New Year holidays) are one entry, from ``day`` to ``until``.
    """

    day: date
    until: date
    name: str
    hours: list[tuple[datetime, datetime]]  # local wall-clock start and end; empty: closed


@dataclass(frozen=True)
class CalendarNow:
    """One calendar as the public page shows it, at one instant."""

    row: Calendar
    calendar: BusinessCalendar
    open_now: bool
    closes_at: datetime | None  # local time, while open
    next_opening: datetime | None  # local time, while closed
    days_off: list[DayOff]


def calendars_now(session: Session, now: datetime, *, days_ahead: int = 92) -> list[CalendarNow]:
    """The public calendars: open or not at ``now``, and the holidays and special dates of the coming weeks."""
    found = []
    for row in list_calendars(session, public_only=True):
        built = service.business_calendar(row)
        tz = built.tz
        opening = next_opening(built, now)
        closing = next_closing(built, now)
        found.append(
            CalendarNow(
                row=row,
                calendar=built,
                open_now=is_open(built, now),
                closes_at=closing.astimezone(tz) if closing is not None else None,
                next_opening=opening.astimezone(tz) if opening is not None else None,
                days_off=upcoming_days_off(row, built, built.local_date(now), days_ahead),
            )
        )
    return found


def upcoming_days_off(row: Calendar, built: BusinessCalendar, today: date, days_ahead: int) -> list[DayOff]:
    """Holidays (one-off and yearly) and special dates from ``today`` on, within ``days_ahead`` days."""
    names: dict[date, str] = {}
    horizon = today + timedelta(days=days_ahead)
    for h in row.holidays:
        for year in (today.year, today.year + 1) if h.yearly else (h.day.year,):
            try:
                day = h.day.replace(year=year)
            except ValueError:  # 29 February
                continue
            if today <= day <= horizon:
                names[day] = h.name
    for s in row.special_days:
        if today <= s.day <= horizon:
            names[s.day] = s.name
    days: list[DayOff] = []
    for day in sorted(names):
        hours = [(s.astimezone(built.tz), e.astimezone(built.tz)) for s, e in built.day_intervals(day)]
        previous = days[-1] if days else None
        if previous is not None and not hours and not previous.hours and previous.until + timedelta(days=1) == day:
            known = names[day] in previous.name.split(", ")
            name = previous.name if known else ", ".join(n for n in (previous.name, names[day]) if n)
            days[-1] = DayOff(day=previous.day, until=day, name=name, hours=[])
        else:
            days.append(DayOff(day=day, until=day, name=names[day], hours=hours))
    return days
