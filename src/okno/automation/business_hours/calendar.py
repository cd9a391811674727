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

Arithmetic walks open intervals day by day and, where a run of whole weeks has no holiday, no
special date and no offset change, skips those weeks with one multiplication. Nothing loops over
minutes.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
ZERO = timedelta(0)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead to look for an opening before concluding a calendar never opens: the weekday of a
# yearly date repeats within 28 years, so past the last one-off date nothing new can happen.
_NEVER_YEARS = 28
_DAY_CACHE_LIMIT = 8192

Interval = tuple[datetime, datetime]


class NeverOpen(ValueError):
    """The calendar has no open time from the given instant on."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone by name; ValueError for a name that is not one."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if not name or name != name.strip():
        raise ValueError(name)
    return ZoneInfo(name)


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
    _irregular: dict[int, tuple[date, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _week_total: timedelta = field(init=False, repr=False, compare=False, hash=False)
    _last_fixed: date = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has seven days")
        setattr_ = object.__setattr__
        setattr_(self, "_tz", zone(self.time_zone))
        setattr_(self, "_special", {s.day: s.hours for s in self.special_days})
        setattr_(self, "_days", {})
        setattr_(self, "_irregular", {})
        # Skipping whole weeks adds up their intervals, so it needs intervals that never overlap.
        total = timedelta(minutes=sum(h.minutes for day in self.week for h in day))
        setattr_(self, "_week_total", total if not week_problems(self.week) else ZERO)
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
            start = _to_utc(datetime.combine(day, h.start), self._tz)
            end_day = day + DAY if h.end <= h.start else day
            end = _to_utc(datetime.combine(end_day, h.end), self._tz)
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
        return _to_utc(datetime.combine(day, time(0)), self._tz)

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
        days = set(_offset_change_days(self.time_zone, year))
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
        weeks = _weeks_to_skip(cal, day, consumed)
        if weeks:
            # Strictly more than the skipped open time must remain, so the answer lies past those weeks.
            weeks = min(weeks, (remaining - timedelta(microseconds=1)) // cal._week_total)
            if weeks > 0:
                remaining -= weeks * cal._week_total
                day += weeks * WEEK
                consumed = max([cal.midnight(day), *(e for _, e in cal.day_intervals(day - DAY))])
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
        weeks = _weeks_to_skip(cal, day, consumed)
        # Intervals of the skipped days end before the local midnight two days after the last of them.
        weeks = min(weeks, ((last - day).days - 1) // 7)
        if weeks > 0:
            total += weeks * cal._week_total
            day += weeks * WEEK
            consumed = max([cal.midnight(day), *(e for _, e in cal.day_intervals(day - DAY))])
    return total


def _weeks_to_skip(cal: BusinessCalendar, day: date, consumed: datetime) -> int:
    """How many whole weeks from ``day`` on are plain: each one then holds exactly the week's open time.

    Plain means: no holiday, special date or offset change on those days nor on the day after them
    (whose offset the last overnight shift ends in), and nothing of ``day`` already spent by an
    irregular shift of the day before.
    """
    if cal._week_total <= ZERO:
        return 0
    stop = cal._regular_until(day)
    weeks = ((stop - day).days - 1) // 7
    if weeks <= 0:
        return 0
    first = cal.day_intervals(day)
    if (first and first[0][0] < consumed) or consumed > cal.midnight(day + DAY):
        return 0
    return weeks


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


def _to_utc(local: datetime, tz: tzinfo) -> datetime:
    """A local wall-clock time as a UTC instant (first occurrence; a skipped time as the moment of the jump)."""
    aware = local.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    if aware.utcoffset() == aware.replace(fold=1).utcoffset():
        return utc  # the usual case: the wall-clock time exists exactly once
    if utc.astimezone(tz).replace(tzinfo=None) == local:
        return utc  # occurs twice (autumn): fold=0 is the first occurrence
    # Skipped by a spring-forward change: find the moment of the jump, the first instant whose wall
    # clock reads ``local`` or later; it lies between the two readings of the time.
    low = int(aware.replace(fold=1).timestamp())
    high = int(utc.timestamp())
    while low < high:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= local:
            high = mid
        else:
            low = mid + 1
    return datetime.fromtimestamp(low, UTC)


@functools.lru_cache(maxsize=256)
def _offset_change_days(time_zone: str, year: int) -> tuple[date, ...]:
    """Local dates of ``year`` during which the UTC offset changes (and the day after each)."""
    tz = zone(time_zone)
    first = datetime(year, 1, 1, tzinfo=tz)
    days: list[date] = []
    previous = first.utcoffset()
    count = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    for i in range(1, count + 1):
        offset = (first + timedelta(days=i)).utcoffset()  # wall-clock arithmetic: the next local midnight
        if offset != previous:
            changed = date(year, 1, 1) + timedelta(days=i - 1)
            days.extend((changed, changed + DAY))
            previous = offset
    return tuple(days)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    return at.astimezone(UTC)
