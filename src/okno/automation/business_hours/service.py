"""Business-hours calendars: managing them, and which calendar a team works by.

A team uses its own calendar, else the default calendar; with neither it is always open (None).
There is one default calendar as soon as there is any calendar: the first one becomes it, and it
stops being the default only when another one is made the default.

Routing and SLA ask ``calendar_for_team`` on every decision, so which calendar (and which
revision of it) a team works by is remembered for a few seconds (``okno.memo``), and the built
``BusinessCalendar`` is kept per calendar revision (a random token every write replaces, so a
rolled-back change can never leave a stale calendar behind).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.business_hours.calendar import WEEKDAYS, BusinessCalendar, Hours, Weekday, is_open
from okno.automation.business_hours.models import Calendar, Holiday, SpecialDate, TeamCalendar, WeeklyInterval
from okno.automation.business_hours.schemas import (
    CalendarCreate,
    CalendarUpdate,
    HolidayIn,
    HoursIn,
    SpecialDayIn,
)
from okno.db import is_unique_violation, utcnow
from okno.errors import Conflict, Invalid, NotFound
from okno.memo import Memo

_BUILT: dict[tuple[int, str], BusinessCalendar] = {}
_BUILT_LIMIT = 256
_BUILT_LOCK = threading.Lock()


# ---- the calendar a team works by ----


def _read_calendar_of_team(session: Session, team_id: int | None) -> tuple[int, str] | None:
    """The id and revision of the calendar the team works by."""
    found = None
    if team_id is not None:
        found = session.execute(
            sa.select(Calendar.id, Calendar.revision)
            .join(TeamCalendar, TeamCalendar.calendar_id == Calendar.id)
            .where(TeamCalendar.team_id == team_id)
        ).first()
    if found is None:
        found = session.execute(sa.select(Calendar.id, Calendar.revision).where(Calendar.is_default.is_(True))).first()
    return None if found is None else (found[0], found[1])


# Routing and SLA ask on every decision; calendars change a few times a year (see ``okno.memo``).
CALENDAR_OF_TEAM: Memo[int | None, tuple[int, str] | None] = Memo(
    "business_hours.calendar_of_team",
    _read_calendar_of_team,
    reads=(Calendar, TeamCalendar, WeeklyInterval, Holiday, SpecialDate),
)


def calendar_for_team(session: Session, team_id: int | None) -> BusinessCalendar | None:
    """The calendar a team works by: its own, else the default one, else None (always open)."""
    found = CALENDAR_OF_TEAM.get(session, team_id)
    if found is None:
        return None
    calendar_id, revision = found
    built = _BUILT.get((calendar_id, revision))
    if built is None:
        built = business_calendar(load_calendar(session, calendar_id))
        with _BUILT_LOCK:
            if len(_BUILT) >= _BUILT_LIMIT:
                _BUILT.clear()
            _BUILT[(calendar_id, revision)] = built
    return built


def on_shift(session: Session, team_id: int | None, at: datetime) -> bool:
    """Whether the team's calendar is open at ``at`` (always, for a team without a calendar)."""
    calendar = calendar_for_team(session, team_id)
    return calendar is None or is_open(calendar, at)


def business_calendar(row: Calendar) -> BusinessCalendar:
    """The stored calendar (loaded with ``load_calendar``) as the frozen value the arithmetic works on."""
    return BusinessCalendar.build(
        row.time_zone,
        {d: [Hours(i.starts, i.ends) for i in row.intervals if i.weekday == d] for d in range(7)},
        holidays=[h.day for h in row.holidays if not h.yearly],
        yearly_holidays=[(h.day.month, h.day.day) for h in row.holidays if h.yearly],
        special_days={
            s.day: [Hours(time.fromisoformat(h["start"]), time.fromisoformat(h["end"])) for h in s.hours]
            for s in row.special_days
        },
        name=row.name,
    )


def load_calendar(session: Session, calendar_id: int) -> Calendar:
    row = session.scalars(
        sa.select(Calendar)
        .where(Calendar.id == calendar_id)
        .options(selectinload(Calendar.intervals), selectinload(Calendar.holidays), selectinload(Calendar.special_days))
    ).first()
    if row is None:
        raise NotFound("Calendar not found.")
    return row


# ---- managing calendars (administrators) ----


def get_calendar(session: Session, actor: Actor, calendar_id: int) -> Calendar:
    require_admin(actor)
    return load_calendar(session, calendar_id)


def create_calendar(session: Session, actor: Actor, *, data: CalendarCreate) -> Calendar:
    require_admin(actor)
    _check_teams(session, data.team_ids)
    now = utcnow(session)
    first = session.scalar(sa.select(sa.func.count()).select_from(Calendar)) == 0
    if data.is_default and not first:
        _clear_default(session)
    row = Calendar(
        name=data.name,
        description=data.description,
        time_zone=data.time_zone,
        is_default=data.is_default or first,
        public=data.public,
        revision=uuid.uuid4().hex,
        created_at=now,
        updated_at=now,
        intervals=_intervals(data.week),
        holidays=_holidays(data.holidays),
        special_days=_special_days(data.special_days),
    )
    _flush_named(session, row, add=True)
    _link_teams(session, row.id, data.team_ids)
    return row


def update_calendar(session: Session, actor: Actor, calendar_id: int, *, changes: CalendarUpdate) -> Calendar:
    require_admin(actor)
    row = load_calendar(session, calendar_id)
    if changes.team_ids is not None:
        _check_teams(session, changes.team_ids)
    for name in ("name", "description", "time_zone", "public"):
        value = getattr(changes, name)
        if value is not None:
            setattr(row, name, value)
    _flush_named(session, row)  # before anything else flushes it: a taken name is the caller's conflict
    if changes.is_default and not row.is_default:
        _clear_default(session)
        row.is_default = True
    intervals = None if changes.week is None else _intervals(changes.week)
    holidays = None if changes.holidays is None else _holidays(changes.holidays)
    special_days = None if changes.special_days is None else _special_days(changes.special_days)
    # Old rows go before new ones come: a date may stay, and each date is unique per calendar.
    for old, new in ((row.intervals, intervals), (row.holidays, holidays), (row.special_days, special_days)):
        if new is not None:
            old.clear()
    session.flush()
    row.intervals.extend(intervals or [])
    row.holidays.extend(holidays or [])
    row.special_days.extend(special_days or [])
    row.revision = uuid.uuid4().hex
    row.updated_at = utcnow(session)
    session.flush()
    if changes.team_ids is not None:
        _link_teams(session, row.id, changes.team_ids)
    return row


def delete_calendar(session: Session, actor: Actor, calendar_id: int) -> None:
    """Deletes a calendar; its teams fall back to the default one. The default goes only when it is the last."""
    require_admin(actor)
    row = load_calendar(session, calendar_id)
    others = session.scalar(sa.select(sa.func.count()).select_from(Calendar).where(Calendar.id != calendar_id))
    if row.is_default and others:
        raise Conflict(
            "This is the default calendar: make another calendar the default first.", code="default_calendar"
        )
    session.execute(sa.delete(TeamCalendar).where(TeamCalendar.calendar_id == calendar_id))
    session.delete(row)
    session.flush()


def set_team_calendar(session: Session, actor: Actor, *, team_id: int, calendar_id: int | None) -> None:
    """The team works by this calendar from now on; None: by the default one."""
    require_admin(actor)
    _check_teams(session, [team_id])
    session.execute(sa.delete(TeamCalendar).where(TeamCalendar.team_id == team_id))
    if calendar_id is not None:
        load_calendar(session, calendar_id)
        session.add(TeamCalendar(team_id=team_id, calendar_id=calendar_id))
    session.flush()


def team_ids_of(session: Session, calendar_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {i: [] for i in calendar_ids}
    rows = session.execute(
        sa.select(TeamCalendar.calendar_id, TeamCalendar.team_id)
        .where(TeamCalendar.calendar_id.in_(calendar_ids))
        .order_by(TeamCalendar.team_id)
    )
    for calendar_id, team_id in rows:
        found[calendar_id].append(team_id)
    return found


def _check_teams(session: Session, team_ids: list[int]) -> None:
    for team_id in team_ids:
        if not accounts_queries.team_exists(session, team_id):
            raise Invalid(f"No team with id {team_id}.", field="team_ids")


def _link_teams(session: Session, calendar_id: int, team_ids: list[int]) -> None:
    """Exactly these teams work by the calendar; a team moves here from any other calendar."""
    session.execute(
        sa.delete(TeamCalendar).where(
            sa.or_(TeamCalendar.calendar_id == calendar_id, TeamCalendar.team_id.in_(team_ids))
        )
    )
    session.add_all(TeamCalendar(team_id=t, calendar_id=calendar_id) for t in sorted(set(team_ids)))
    session.flush()


def _clear_default(session: Session) -> None:
    # Before the new default is written: the unique index allows one default row at any moment.
    session.execute(sa.update(Calendar).where(Calendar.is_default.is_(True)).values(is_default=False))
    session.flush()


def _flush_named(session: Session, row: Calendar, *, add: bool = False) -> None:
    try:
        with session.begin_nested():
            if add:
                session.add(row)
            session.flush()
    except sa.exc.IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict(
                "A calendar with this name exists already.",
                code="calendar_exists",
                details=[{"field": "name", "reason": "taken"}],
            ) from exc
        raise


def _intervals(week: dict[Weekday, list[HoursIn]]) -> list[WeeklyInterval]:
    return [
        WeeklyInterval(weekday=WEEKDAYS.index(day), starts=h.start, ends=h.end, overnight=h.overnight)
        for day, hours in week.items()
        for h in hours
    ]


def _holidays(holidays: list[HolidayIn]) -> list[Holiday]:
    return [Holiday(day=h.day, yearly=h.yearly, name=h.name) for h in holidays]


def _special_days(days: list[SpecialDayIn]) -> list[SpecialDate]:
    return [SpecialDate(day=d.day, name=d.name, hours=[h.model_dump(mode="json") for h in d.hours]) for d in days]
