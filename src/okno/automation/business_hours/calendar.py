"""Business-time arithmetic over a weekly schedule, holidays and special days (pure: no session, no clock).

A calendar is a weekly schedule in local wall-clock time (one IANA time zone), one-off and yearly
holidays, and special dates with their own hours (a working Saturday) or none (closed). Every rule
here works on *open intervals*: for each local day the day's hours are turned into UTC instants
with that day's own offset, so a day on which the clocks change counts the hours that really pass.

Rules (docs/subsystems/business-hours.md):
- An interval belongs to the day it starts on; ``end <= start`` means it runs past midnight into
  the next day (22:00–06:00), and an end of 00:00 means midnight. A holiday closes the intervals
  that *start* that day; an overnight shift from the day before still ends as planned.
- A special date replaces the weekly hours and any holiday on that date.
- A wall-clock time skipped by a spring-forward change is read as the moment of the change (an
  opening at 03:30 on a day the clock jumps from 03:00 to 04:00 opens at 04:00); a time that occurs
  twice in the autumn is read as its first occurrence.
- Intervals are half-open [start, end): at the closing instant the desk is closed.

Arithmetic walks open intervals day by day and, where a run of days has no holiday, no special
date and no offset change, skips it arithmetically: whole weeks with one multiplication, then at
most six single days by their weekday's open time. Nothing loops over minutes.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from okno.automation.business_hours.local_time import offset_change_days, to_utc, zone

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
ZERO = timedelta(0)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead to look for an opening before concluding a calendar never opens: the weekday of a
# yearly date repeats within 28 years, so past the last one-off date nothing new can happen.
_NEVER_YEARS = 28
_DAY_CACHE_LIMIT = 8192

Interval = tuple[datetime, datetime]


class NeverOpen(ValueError):
    """The calendar has no open time from the given instant on."""


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class Hours:
    """Open from ``start`` to ``end`` (local wall-clock); ``end <= start`` ends on the next day."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t.second or t.microsecond or t.tzinfo is not None:
                raise ValueError("hours are whole minutes of local wall-clock time")

    @property
    def overnight(self) -> bool:
        return self.end <= self.start and self.end != time(0)

    @property
    def minutes(self) -> int:
        """Wall-clock length in minutes (an overnight shift counts up to its end on the next day)."""
        begin = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return end - begin if end > begin else end + 1440 - begin

    @classmethod
    def parse(cls, text: str) -> Hours:
        """``"09:00-18:00"`` or ``"22:00–06:00"``."""
        match = _HOURS.match(text)
        if not match:
            raise ValueError(f"not hours: {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return cls(time(h1, m1), time(h2 % 24, m2) if (h2, m2) == (24, 0) else time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A date with its own hours instead of the weekly ones; no hours means closed."""

    day: date
    hours: tuple[Hours, ...] = ()


@dataclass(frozen=True)
class BusinessCalendar:
    """A weekly schedule in one time zone with holidays and special dates. Immutable; build with ``build``."""

    time_zone: str
    # Seven entries, Monday first: the open intervals that start on that weekday.
    week: tuple[tuple[Hours, ...], ...]
    holidays: frozenset[date] = frozenset()
    # (month, day): closed on that date every year (29 February only in leap years).
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()
    special_days: tuple[SpecialDay, ...] = ()
    name: str = ""
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _special: dict[date, tuple[Hours, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _days: dict[date, tuple[Interval, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _midnights: dict[date, datetime] = field(init=False, repr=False, compare=False, hash=False)
    _irregular: dict[int, tuple[date, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _week_total: timedelta = field(init=False, repr=False, compare=False, hash=False)
    # Open time of each weekday (overnight shifts counted whole); None when the week's intervals
    # overlap, which turns skipping off: skipped days are added up, so they must never overlap.
    _day_totals: tuple[timedelta, ...] | None = field(init=False, repr=False, compare=False, hash=False)
    _last_fixed: date = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has seven days")
        setattr_ = object.__setattr__
        setattr_(self, "_tz", zone(self.time_zone))
        setattr_(self, "_special", {s.day: s.hours for s in self.special_days})
        setattr_(self, "_days", {})
        setattr_(self, "_midnights", {})
        setattr_(self, "_irregular", {})
        totals = tuple(timedelta(minutes=sum(h.minutes for h in day)) for day in self.week)
        setattr_(self, "_day_totals", None if week_problems(self.week) else totals)
        setattr_(self, "_week_total", sum(totals, ZERO))
        fixed = [*self.holidays, *self._special]
        setattr_(self, "_last_fixed", max(fixed) if fixed else date.min)

    @classmethod
    def build(
        cls,
        time_zone: str,
        week: Mapping[int, Iterable[Hours | str]] | Sequence[Iterable[Hours | str]],
        *,
        holidays: Iterable[date] = (),
        yearly_holidays: Iterable[tuple[int, int]] = (),
        special_days: Mapping[date, Iterable[Hours | str]] | None = None,
        name: str = "",
    ) -> BusinessCalendar:
        """A calendar from friendlier shapes: ``{0: ["09:00-18:00"], 5: []}`` or seven lists, hours as text."""

        def hours(items: Iterable[Hours | str]) -> tuple[Hours, ...]:
            return tuple(sorted((Hours.parse(h) if isinstance(h, str) else h for h in items), key=lambda h: h.start))

        days = [week.get(i, ()) for i in range(7)] if isinstance(week, Mapping) else list(week)
        return cls(
            time_zone=time_zone,
            week=tuple(hours(d) for d in days),
            holidays=frozenset(holidays),
            yearly_holidays=frozenset(yearly_holidays),
            special_days=tuple(SpecialDay(d, hours(h)) for d, h in sorted((special_days or {}).items())),
            name=name,
        )

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def hours_on(self, day: date) -> tuple[Hours, ...]:
        """The intervals that start on this local date: a special date's, none on a holiday, else the week's."""
        special = self._special.get(day)
        if special is not None:
            return special
        if self.is_holiday(day):
            return ()
        return self.week[day.weekday()]

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    def day_intervals(self, day: date) -> tuple[Interval, ...]:
        """The open intervals starting on this local date, in UTC, sorted and merged."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        out: list[Interval] = []
        for h in self.hours_on(day):
            start = to_utc(datetime.combine(day, h.start), self._tz)
            end_day = day + DAY if h.end <= h.start else day
            end = to_utc(datetime.combine(end_day, h.end), self._tz)
            if end > start:
                out.append((start, end))
        result = tuple(_merge(sorted(out)))
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
        self._days[day] = result
        return result

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self._tz).date()

    def midnight(self, day: date) -> datetime:
        """The start of a local date, in UTC."""
        cached = self._midnights.get(day)
        if cached is None:
            if len(self._midnights) >= _DAY_CACHE_LIMIT:
                self._midnights.clear()
            cached = self._midnights[day] = to_utc(datetime.combine(day, time(0)), self._tz)
        return cached

    def _regular_until(self, day: date) -> date:
        """The first date on or after ``day`` that is not a plain week day (holiday, special date, offset change).

        Looks at most into the next year; a date returned from there may be a plain one, which only
        ends one run of skipped weeks early.
        """
        for year in (day.year, day.year + 1):
            dates = self._irregular_dates(year)
            i = bisect.bisect_left(dates, day)
            if i < len(dates):
                return dates[i]
        return date(day.year + 2, 1, 1)

    def _irregular_dates(self, year: int) -> tuple[date, ...]:
        cached = self._irregular.get(year)
        if cached is not None:
            return cached
        days = set(offset_change_days(self.time_zone, year))
        days.update(d for d in self.holidays if d.year == year)
        days.update(d for d in self._special if d.year == year)
        for month, day_of_month in self.yearly_holidays:
            try:
                days.add(date(year, month, day_of_month))
            except ValueError:  # 29 February of a common year
                continue
        result = tuple(sorted(days))
        self._irregular[year] = result
        return result


def week_problems(week: Sequence[Sequence[Hours]]) -> list[tuple[int, int, str]]:
    """Overlaps in a weekly schedule, as (weekday, index of the interval, reason); empty when none.

    Intervals are laid on a circular week in minutes, an overnight shift spilling into the next day
    (Sunday's into Monday's), and may touch but not overlap.
    """
    spans: list[tuple[int, int, int, int]] = []
    for weekday, day in enumerate(week):
        for index, h in enumerate(day):
            begin = weekday * 1440 + h.start.hour * 60 + h.start.minute
            spans.append((begin, begin + h.minutes, weekday, index))
    spans.sort()
    problems: list[tuple[int, int, str]] = []
    reach = -1  # the latest end so far
    for begin, end, weekday, index in spans:
        if begin < reach:
            problems.append((weekday, index, "overlap"))
        reach = max(reach, end)
    if spans and reach - 7 * 1440 > spans[0][0]:
        problems.append((spans[0][2], spans[0][3], "overlap"))
    return problems


def is_open(cal: BusinessCalendar, at: datetime) -> bool:
    at = _aware(at)
    day = cal.local_date(at)
    return any(start <= at < end for d in (day - DAY, day) for start, end in cal.day_intervals(d))


def next_opening(cal: BusinessCalendar, at: datetime) -> datetime | None:
    """``at`` itself when open, else the next instant the calendar opens; None if it never does."""
    at = _aware(at)
    for start, end in _intervals_from(cal, at):
        if end > at:
            return max(start, at)
    return None


def next_closing(cal: BusinessCalendar, at: datetime) -> datetime | None:
    """When the open stretch around ``at`` ends (touching intervals count as one); None when closed at ``at``."""
    at = _aware(at)
    for start, end in _intervals_from(cal, at):
        return end if start <= at else None
    return None


def open_intervals(cal: BusinessCalendar, start: datetime, end: datetime) -> list[Interval]:
    """The open intervals within [start, end), clipped to it, in UTC; intervals that touch are joined."""
    start, end = _aware(start), _aware(end)
    out: list[Interval] = []
    for s, e in _intervals_from(cal, start, until=end):
        if s >= end:
            break
        out.append((max(s, start), min(e, end)))
    return out


def add_business_time(cal: BusinessCalendar, start: datetime, delta: timedelta) -> datetime:
    """The instant at which ``delta`` of open time has passed since ``start``.

    A delta that runs out exactly at a closing time gives that closing time; a zero delta gives
    ``start`` itself. Raises NeverOpen when the calendar has too little open time left.
    """
    if delta < ZERO:
        raise ValueError("add_business_time needs a delta of zero or more")
    start = _aware(start)
    if delta == ZERO:
        return start
    remaining = delta
    consumed = start  # open time before this instant is already spent (or before start)
    day = cal.local_date(start) - DAY  # an overnight shift of the day before may still be running
    give_up = _give_up_date(cal, day)
    while day <= give_up:
        for s, e in cal.day_intervals(day):
            s = max(s, consumed)
            if e <= s:
                continue
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
            consumed = e
        day += DAY
        plain = _plain_days(cal, day, consumed)
        if plain:
            # Strictly more than the skipped open time must remain, so the answer lies past those days.
            days, skipped = _skippable(cal, day, plain, remaining - timedelta(microseconds=1))
            if days:
                remaining -= skipped
                day, consumed = _after_skipping(cal, day + timedelta(days=days))
    raise NeverOpen(f"{cal.name or cal.time_zone}: not enough open time after {start.isoformat()}")


def business_time_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time within [start, end); negative when ``end`` is before ``start``."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -business_time_between(cal, end, start)
    total = ZERO
    consumed = start
    day = cal.local_date(start) - DAY
    last = cal.local_date(end)
    while day <= last:
        for s, e in cal.day_intervals(day):
            s, e = max(s, consumed), min(e, end)
            if e > s:
                total += e - s
                consumed = e
        day += DAY
        # Intervals of skipped days end before the local midnight two days after the last of them.
        days = min(_plain_days(cal, day, consumed), (last - day).days - 1)
        if days > 0:
            total += _open_time(cal, day.weekday(), days)
            day, consumed = _after_skipping(cal, day + timedelta(days=days))
    return total


def _plain_days(cal: BusinessCalendar, day: date, consumed: datetime) -> int:
    """How many days from ``day`` on are plain: each then holds exactly its weekday's open time.

    Plain means: no holiday, special date or offset change on those days nor on the day after
    them (whose offset the last overnight shift ends in), a weekly schedule without overlaps, and
    nothing of ``day`` already spent by an irregular shift of the day before.
    """
    if cal._day_totals is None:
        return 0
    days = (cal._regular_until(day) - day).days - 1
    if days <= 0:
        return 0
    first = cal.day_intervals(day)
    if first:
        return days if first[0][0] >= consumed else 0
    return days if consumed <= cal.midnight(day + DAY) else 0


def _open_time(cal: BusinessCalendar, weekday: int, days: int) -> timedelta:
    """The open time of ``days`` plain days from a ``weekday`` on: whole weeks, then the days left."""
    assert cal._day_totals is not None
    weeks, rest = divmod(days, 7)
    return weeks * cal._week_total + sum((cal._day_totals[(weekday + i) % 7] for i in range(rest)), ZERO)


def _skippable(cal: BusinessCalendar, day: date, plain: int, less_than: timedelta) -> tuple[int, timedelta]:
    """How many of ``plain`` days from ``day`` hold less open time than ``less_than`` in all, and that time."""
    assert cal._day_totals is not None
    weeks = min(plain // 7, less_than // cal._week_total) if cal._week_total else plain // 7
    days, total = weeks * 7, weeks * cal._week_total
    while days < plain:  # at most a week of single days: the rest of the time fits in one more week
        more = cal._day_totals[(day.weekday() + days) % 7]
        if total + more > less_than:
            break
        days, total = days + 1, total + more
    return days, total


def _after_skipping(cal: BusinessCalendar, day: date) -> tuple[date, datetime]:
    """Where the walk resumes after skipping up to ``day``: that day, and the end of what was skipped."""
    return day, max([cal.midnight(day), *(e for _, e in cal.day_intervals(day - DAY))])


def _intervals_from(cal: BusinessCalendar, at: datetime, until: datetime | None = None) -> Iterator[Interval]:
    """Merged open intervals that end after ``at``, in order; stops after ``until`` or when nothing opens again."""
    day = cal.local_date(at) - DAY
    give_up = _give_up_date(cal, day) if until is None else cal.local_date(until)
    pending: Interval | None = None
    while day <= give_up:
        for s, e in cal.day_intervals(day):
            if e <= at:
                continue
            if pending is None:
                pending = (s, e)
            elif s <= pending[1]:
                pending = (pending[0], max(pending[1], e))
            else:
                yield pending
                pending = (s, e)
        day += DAY
        # Whatever is pending can still grow only through an interval starting before its end.
        if pending is not None and cal.midnight(day) > pending[1]:
            yield pending
            pending = None
    if pending is not None:
        yield pending


def _give_up_date(cal: BusinessCalendar, day: date) -> date:
    if not any(cal.week) and not any(h for s, h in cal._special.items() if s >= day):
        return day + DAY  # nothing ever opens again: look at today and yesterday only
    return max(day, cal._last_fixed) + timedelta(days=366 * _NEVER_YEARS)


def _merge(intervals: list[Interval]) -> Iterator[Interval]:
    pending: Interval | None = None
    for s, e in intervals:
        if pending is not None and s <= pending[1]:
            pending = (pending[0], max(pending[1], e))
            continue
        if pending is not None:
            yield pending
        pending = (s, e)
    if pending is not None:
        yield pending


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    return at.astimezone(UTC)
