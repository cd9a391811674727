"""Business-time arithmetic: hand-computed cases, no database.

Dates used: in 2026 Europe/Bucharest moves from +02:00 to +03:00 on Sunday 29 March (03:00 local
becomes 04:00, at 01:00 UTC) and back on Sunday 25 October (04:00 local becomes 03:00, at 01:00 UTC).
Europe/Moscow stays at +03:00 all year.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from okno.automation.business_hours.calendar import (
    BusinessCalendar,
    Hours,
    NeverOpen,
    add_business_time,
    business_time_between,
    is_open,
    next_closing,
    next_opening,
    open_intervals,
    week_problems,
)

WEEKDAYS_9_17 = {d: ["09:00-17:00"] for d in range(5)}
WEEKDAYS_9_18 = {d: ["09:00-18:00"] for d in range(5)}

BUCHAREST = BusinessCalendar.build(
    "Europe/Bucharest",
    WEEKDAYS_9_17,
    # A working Saturday, and Orthodox Easter Monday closed.
    special_days={date(2026, 4, 4): ["10:00-14:00"], date(2026, 4, 13): []},
)
MOSCOW = BusinessCalendar.build(
    "Europe/Moscow",
    WEEKDAYS_9_18,
    holidays={date(2026, 3, 9), date(2026, 5, 1), date(2026, 5, 11)},
    yearly_holidays={(1, d) for d in range(1, 9)},
)
# Weekend nights: Friday 22:00 to Saturday 06:00 and Saturday 22:00 to Sunday 06:00.
NIGHTS = BusinessCalendar.build("Europe/Bucharest", {4: ["22:00-06:00"], 5: ["22:00-06:00"]})
# Special dates whose hours fall into the spring gap and the autumn repeat.
DST_EDGES = BusinessCalendar.build(
    "Europe/Bucharest",
    {},
    special_days={date(2026, 3, 29): ["03:30-05:00"], date(2026, 10, 25): ["03:30-05:00"]},
)
ALWAYS = BusinessCalendar.build("Europe/Bucharest", {d: ["00:00-00:00"] for d in range(7)})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(cal: BusinessCalendar, text: str) -> datetime:
    """A wall-clock time in the calendar's zone (first occurrence when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(cal.time_zone))


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("cal", "at", "expected"),
    [
        (BUCHAREST, "2026-03-30 08:59", False),
        (BUCHAREST, "2026-03-30 09:00", True),
        (BUCHAREST, "2026-03-30 16:59", True),
        (BUCHAREST, "2026-03-30 17:00", False),  # closing instant is closed
        (BUCHAREST, "2026-03-28 12:00", False),  # Saturday
        (BUCHAREST, "2026-04-04 10:30", True),  # working Saturday
        (BUCHAREST, "2026-04-04 14:00", False),
        (BUCHAREST, "2026-04-13 10:00", False),  # special date: closed
        (MOSCOW, "2026-03-09 10:00", False),  # one-off holiday
        (MOSCOW, "2027-01-05 10:00", False),  # yearly holiday
        (MOSCOW, "2027-01-11 10:00", True),
        (NIGHTS, "2026-03-28 03:00", True),  # Friday's shift after midnight
        (NIGHTS, "2026-03-29 05:59", True),  # Saturday's shift, after the spring change
        (NIGHTS, "2026-03-29 06:00", False),
        (NIGHTS, "2026-03-28 21:59", False),
        (NIGHTS, "2026-03-27 22:00", True),
    ],
)
def test_is_open(cal: BusinessCalendar, at: str, expected: bool) -> None:
    assert is_open(cal, local(cal, at)) is expected


@pytest.mark.parametrize(
    ("cal", "at", "expected"),
    [
        (BUCHAREST, "2026-03-30 10:00", "2026-03-30 07:00"),  # open: the instant itself
        (BUCHAREST, "2026-03-27 17:00", "2026-03-30 06:00"),  # Friday evening → Monday 09:00 +03:00
        (BUCHAREST, "2026-10-23 18:00", "2026-10-26 07:00"),  # Monday 09:00 +02:00
        (BUCHAREST, "2026-04-03 20:00", "2026-04-04 07:00"),  # the working Saturday 10:00 +03:00
        (BUCHAREST, "2026-04-10 20:00", "2026-04-14 06:00"),  # Easter Monday closed → Tuesday
        (MOSCOW, "2026-12-31 18:00", "2027-01-11 06:00"),  # New Year holidays
        (NIGHTS, "2026-03-28 07:00", "2026-03-28 20:00"),  # Saturday 22:00 +02:00
        (DST_EDGES, "2026-03-29 00:00", "2026-03-29 01:00"),  # 03:30 does not exist: 04:00 +03:00
        (DST_EDGES, "2026-10-25 00:00", "2026-10-25 00:30"),  # 03:30 first occurrence, +03:00
    ],
)
def test_next_opening(cal: BusinessCalendar, at: str, expected: str) -> None:
    assert next_opening(cal, local(cal, at)) == utc(expected)


def test_next_closing_and_open_intervals() -> None:
    assert next_closing(BUCHAREST, local(BUCHAREST, "2026-03-30 10:00")) == utc("2026-03-30 14:00")
    assert next_closing(BUCHAREST, local(BUCHAREST, "2026-03-30 18:00")) is None
    # Touching intervals read as one stretch: Friday night into Saturday.
    assert next_closing(NIGHTS, local(NIGHTS, "2026-03-27 23:00")) == utc("2026-03-28 04:00")
    assert open_intervals(NIGHTS, utc("2026-03-27 00:00"), utc("2026-03-30 00:00")) == [
        (utc("2026-03-27 20:00"), utc("2026-03-28 04:00")),
        (utc("2026-03-28 20:00"), utc("2026-03-29 03:00")),  # 7 real hours across the spring change
    ]
    assert open_intervals(NIGHTS, utc("2026-03-28 00:00"), utc("2026-03-28 21:00")) == [
        (utc("2026-03-28 00:00"), utc("2026-03-28 04:00")),
        (utc("2026-03-28 20:00"), utc("2026-03-28 21:00")),
    ]
    assert open_intervals(DST_EDGES, utc("2026-10-24 00:00"), utc("2026-10-26 00:00")) == [
        (utc("2026-10-25 00:30"), utc("2026-10-25 03:00"))
    ]


@pytest.mark.parametrize(
    ("cal", "start", "delta", "expected"),
    [
        (BUCHAREST, "2026-03-30 09:00", 8 * H, "2026-03-30 14:00"),  # runs out at closing time
        (BUCHAREST, "2026-03-30 09:00", 8 * H + timedelta(minutes=1), "2026-03-31 06:01"),
        (BUCHAREST, "2026-03-28 10:00", timedelta(0), "2026-03-28 08:00"),  # zero: start itself
        (BUCHAREST, "2026-03-28 10:00", H, "2026-03-30 07:00"),  # from outside hours
        (BUCHAREST, "2026-03-27 15:00", 4 * H, "2026-03-30 08:00"),  # 2h Friday (+02), 2h Monday (+03)
        (BUCHAREST, "2026-10-23 15:00", 4 * H, "2026-10-26 09:00"),  # 2h Friday (+03), 2h Monday (+02)
        (BUCHAREST, "2026-04-03 16:00", 3 * H, "2026-04-04 09:00"),  # 1h Friday, 2h working Saturday
        (BUCHAREST, "2026-04-10 16:00", 2 * H, "2026-04-14 07:00"),  # Easter Monday closed
        # Five whole weeks of 40 hours end on the fifth Friday at closing time, not on Monday.
        (BUCHAREST, "2026-04-20 09:00", 200 * H, "2026-05-22 14:00"),
        (BUCHAREST, "2026-04-06 09:00", 200 * H, "2026-05-11 14:00"),  # one more day: Easter Monday
        # Forty weeks across both changes (weekday hours never touch 03:00–04:00) would end on Friday
        # 4 December at 17:00; Easter Monday closed (-8h) and the working Saturday (+4h) add 4h of Monday.
        (BUCHAREST, "2026-03-02 09:00", 1600 * H, "2026-12-07 11:00"),
        # Moscow, 10 working days of 9h from 27 April: 1 May and 11 May are holidays.
        (MOSCOW, "2026-04-27 09:00", 90 * H, "2026-05-12 15:00"),
        (MOSCOW, "2026-12-31 17:00", 2 * H, "2027-01-11 07:00"),  # yearly New Year holidays
        (MOSCOW, "2026-03-06 12:00", 9 * H, "2026-03-10 09:00"),  # 6h Friday, 9 March closed, 3h Tuesday
        # Friday's shift (8h) then 6 real hours of Saturday's: 22:00 +02:00 to 05:00 +03:00.
        (NIGHTS, "2026-03-27 22:00", 14 * H, "2026-03-29 02:00"),
        (NIGHTS, "2026-10-23 22:00", 16 * H, "2026-10-25 03:00"),  # 8h, then 22:00 +03:00 + 8h
        (NIGHTS, "2026-03-28 05:00", 2 * H, "2026-03-28 21:00"),  # 1h left on Friday's shift
        (DST_EDGES, "2026-03-28 00:00", H, "2026-03-29 02:00"),  # the only open hour: 04:00–05:00
        (ALWAYS, "2026-03-28 12:00", 24 * H, "2026-03-29 10:00"),  # 24 real hours, 25 on the wall
        (ALWAYS, "2026-10-24 12:00", 24 * H, "2026-10-25 09:00"),  # 24 real hours, 23 on the wall
    ],
)
def test_add_business_time(cal: BusinessCalendar, start: str, delta: timedelta, expected: str) -> None:
    begin = local(cal, start)
    assert add_business_time(cal, begin, delta) == utc(expected)
    assert business_time_between(cal, begin, utc(expected)) == delta


@pytest.mark.parametrize(
    ("cal", "start", "end", "expected"),
    [
        (BUCHAREST, "2026-03-30 09:00", "2026-03-30 17:00", 8 * H),
        (BUCHAREST, "2026-03-28 00:00", "2026-03-30 10:00", H),  # weekend, then one hour
        (BUCHAREST, "2026-03-30 12:00", "2026-03-30 12:00", timedelta(0)),
        (BUCHAREST, "2026-04-01 00:00", "2026-04-15 00:00", 9 * 8 * H + 4 * H),  # 9 weekdays + the working Saturday
        (MOSCOW, "2026-03-02 09:00", "2026-03-09 09:00", 45 * H),
        (MOSCOW, "2026-03-06 12:00", "2026-03-10 12:00", 9 * H),
        (NIGHTS, "2026-03-27 00:00", "2026-03-30 00:00", 15 * H),  # 8h + 7h
        (NIGHTS, "2026-10-23 00:00", "2026-10-26 00:00", 17 * H),  # 8h + 9h
        (DST_EDGES, "2026-03-29 00:00", "2026-03-30 00:00", H),
        (DST_EDGES, "2026-10-25 00:00", "2026-10-26 00:00", timedelta(hours=2, minutes=30)),
        (ALWAYS, "2026-03-29 00:00", "2026-03-30 00:00", 23 * H),
        (ALWAYS, "2026-10-25 00:00", "2026-10-26 00:00", 25 * H),
    ],
)
def test_business_time_between(cal: BusinessCalendar, start: str, end: str, expected: timedelta) -> None:
    assert business_time_between(cal, local(cal, start), local(cal, end)) == expected
    assert business_time_between(cal, local(cal, end), local(cal, start)) == -expected


def test_moscow_2026_weekdays() -> None:
    """The 2026 total above: 261 weekdays, of which 1, 2, 5–8 January, 9 March, 1 and 11 May are holidays."""
    weekdays = sum(1 for i in range(365) if (date(2026, 1, 1) + timedelta(days=i)).weekday() < 5)
    assert weekdays == 261
    total = business_time_between(MOSCOW, utc("2025-12-31 21:00"), utc("2026-12-31 21:00"))
    assert total == 252 * 9 * H


def test_an_empty_calendar_never_opens() -> None:
    closed = BusinessCalendar.build("Europe/Moscow", {})
    assert next_opening(closed, utc("2026-03-02 00:00")) is None
    assert not is_open(closed, utc("2026-03-02 12:00"))
    assert business_time_between(closed, utc("2026-01-01 00:00"), utc("2027-01-01 00:00")) == timedelta(0)
    with pytest.raises(NeverOpen):
        add_business_time(closed, utc("2026-03-02 00:00"), H)
    with pytest.raises(ValueError):
        add_business_time(MOSCOW, utc("2026-03-02 00:00"), -H)
    with pytest.raises(ValueError):
        is_open(MOSCOW, datetime(2026, 3, 2, 12))  # naive


def test_unknown_zone_and_hours() -> None:
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendar.build("Europe/Atlantis", {})
    with pytest.raises(ValueError):
        Hours.parse("9-17")
    assert Hours.parse("22:00–06:00").overnight
    assert Hours.parse("09:00-24:00").minutes == 15 * 60
    assert str(Hours.parse("9:05-17:00")) == "09:05–17:00"


@pytest.mark.parametrize(
    ("week", "problems"),
    [
        ({0: ["09:00-13:00", "14:00-18:00"]}, []),
        ({0: ["09:00-13:00", "13:00-18:00"]}, []),  # touching is fine
        ({0: ["09:00-13:00", "12:00-18:00"]}, [(0, 1, "overlap")]),
        ({4: ["22:00-06:00"], 5: ["05:00-10:00"]}, [(5, 0, "overlap")]),  # Friday night runs into Saturday
        ({6: ["22:00-06:00"], 0: ["05:00-10:00"]}, [(0, 0, "overlap")]),  # Sunday night into Monday
        ({6: ["22:00-06:00"], 0: ["06:00-10:00"]}, []),
    ],
)
def test_week_problems(week: dict[int, list[str]], problems: list[tuple[int, int, str]]) -> None:
    cal = BusinessCalendar.build("UTC", week)
    assert week_problems(cal.week) == problems


def _day_by_day(cal: BusinessCalendar) -> BusinessCalendar:
    """The same calendar with week skipping turned off: the reference for the fast path."""
    copy = BusinessCalendar(cal.time_zone, cal.week, cal.holidays, cal.yearly_holidays, cal.special_days, "ref")
    object.__setattr__(copy, "_day_totals", None)
    return copy


RANDOM_CALENDARS = [
    BUCHAREST,
    MOSCOW,
    NIGHTS,
    ALWAYS,
    BusinessCalendar.build(
        "Europe/Bucharest",
        {0: ["08:00-12:00", "13:00-17:30"], 2: ["20:00-02:00"], 4: ["09:00-00:00"], 6: ["23:00-03:00"]},
        holidays={date(2026, 12, 25), date(2027, 1, 1), date(2026, 8, 15)},
        yearly_holidays={(5, 1), (11, 30), (2, 29)},
        special_days={date(2026, 11, 28): ["10:00-14:00"], date(2026, 10, 26): [], date(2027, 3, 28): ["02:00-05:00"]},
    ),
    BusinessCalendar.build("America/New_York", {d: ["01:30-02:30", "09:00-17:00"] for d in range(7)}),
]


@pytest.mark.parametrize("cal", RANDOM_CALENDARS, ids=lambda c: c.time_zone + str(len(c.holidays)))
def test_fast_path_agrees_with_day_by_day_and_inverts(cal: BusinessCalendar) -> None:
    reference = _day_by_day(cal)
    rng = random.Random(20260329)
    base = utc("2026-01-01 00:00")
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        delta = timedelta(minutes=rng.choice([0, 1, 59, 60, 480, rng.randrange(0, 90 * 24 * 60)]))
        end = add_business_time(cal, start, delta)
        assert end == add_business_time(reference, start, delta), (start, delta)
        assert business_time_between(cal, start, end) == delta, (start, delta)
        later = start + timedelta(minutes=rng.randrange(0, 200 * 24 * 60))
        assert business_time_between(cal, start, later) == business_time_between(reference, start, later)
        assert add_business_time(cal, start, business_time_between(cal, start, later)) <= later
        if delta:
            assert is_open(cal, end - timedelta(microseconds=1))
