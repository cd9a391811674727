"""Business-hours calendars over the API and in forms: what may be written, and how they read back.

Every rule that can be checked without the database is checked here, so a refusal names its field:
an unknown time zone, an interval that ends before it starts without being marked overnight,
intervals that overlap (also across midnight), a date given twice.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainSerializer, field_validator, model_validator

from okno.automation.business_hours.calendar import WEEKDAYS, Hours, Weekday, week_problems
from okno.automation.business_hours.local_time import zone
from okno.schemas import Id, InputModel, OutputModel

MAX_INTERVALS = 6
MAX_DATES = 500
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)


def _whole_minutes(value: time) -> time:
    if value.second or value.microsecond or value.tzinfo is not None:
        raise ValueError("give hours and minutes only, such as 09:30")
    return value


# "09:00" in and out; whole minutes of local wall-clock time.
ClockTime = Annotated[
    time, AfterValidator(_whole_minutes), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)
]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


def check_time_zone(name: str) -> str:
    zone(name)  # ValueError names the zone
    return name


class HoursIn(InputModel):
    """Open from start to end, local time. An overnight interval ends the next day; an end of 00:00 means midnight."""

    start: ClockTime
    end: ClockTime
    overnight: bool = Field(default=False, description="Runs past midnight and ends the next day (22:00–06:00).")

    @model_validator(mode="after")
    def _order(self) -> HoursIn:
        midnight = self.end == time(0)
        if self.overnight and self.end > self.start and not midnight:
            raise ValueError("an overnight interval ends the next day, before its start time")
        if not self.overnight and self.end <= self.start and not midnight:
            raise ValueError("ends before it starts: mark it overnight if it runs past midnight")
        return self

    def hours(self) -> Hours:
        return Hours(self.start, self.end)


class HoursRead(OutputModel):
    start: ClockTime
    end: ClockTime
    overnight: bool


def _overlaps(days: list[list[HoursIn]]) -> list[tuple[int, int, str]]:
    return week_problems([[h.hours() for h in day] for day in days])


DayHours = Annotated[list[HoursIn], Field(max_length=MAX_INTERVALS)]


def check_week(week: dict[Weekday, list[HoursIn]]) -> dict[Weekday, list[HoursIn]]:
    days = [sorted(week.get(name, []), key=lambda h: h.start) for name in WEEKDAYS]
    problems = _overlaps(days)
    if problems:
        weekday, index, _ = problems[0]
        h = days[weekday][index]
        raise ValueError(f"{WEEKDAYS[weekday]} {h.hours()} overlaps another interval (overnight ones included)")
    return {name: days[i] for i, name in enumerate(WEEKDAYS)}


class HolidayIn(InputModel):
    day: Day = Field(description="The date; for a yearly holiday only its month and day count.")
    name: str = Field(default="", max_length=200)
    yearly: bool = Field(default=False, description="Closed on this month and day every year.")


class HolidayRead(OutputModel):
    day: date
    name: str
    yearly: bool


class SpecialDayIn(InputModel):
    day: Day
    name: str = Field(default="", max_length=200)
    hours: DayHours = Field(
        default_factory=list, description="The hours on this date instead of the week's; none: closed all day."
    )

    @field_validator("hours")
    @classmethod
    def _no_overlap(cls, hours: list[HoursIn]) -> list[HoursIn]:
        ordered = sorted(hours, key=lambda h: h.start)
        if _overlaps([ordered, [], [], [], [], [], []]):
            raise ValueError("these hours overlap")
        return ordered


class SpecialDayRead(OutputModel):
    day: date
    name: str
    hours: list[HoursRead]


def check_holidays(holidays: list[HolidayIn]) -> list[HolidayIn]:
    seen: set[object] = set()
    for h in holidays:
        key = (h.day.month, h.day.day) if h.yearly else h.day
        if key in seen or h.day in seen:
            raise ValueError(f"{h.day.isoformat()} is given twice")
        seen.update({key, h.day})
    return sorted(holidays, key=lambda h: h.day)


def check_special_days(days: list[SpecialDayIn]) -> list[SpecialDayIn]:
    found = [d.day for d in days]
    twice = sorted({d for d in found if found.count(d) > 1})
    if twice:
        raise ValueError(f"{twice[0].isoformat()} is given twice")
    return sorted(days, key=lambda d: d.day)


Week = Annotated[dict[Weekday, DayHours], AfterValidator(check_week)]
Holidays = Annotated[list[HolidayIn], Field(max_length=MAX_DATES), AfterValidator(check_holidays)]
SpecialDays = Annotated[list[SpecialDayIn], Field(max_length=MAX_DATES), AfterValidator(check_special_days)]
TimeZone = Annotated[
    str, Field(min_length=1, max_length=64, examples=["Europe/Moscow"]), AfterValidator(check_time_zone)
]
WEEK_HELP = 'Open intervals per weekday, e.g. {"mon": [{"start": "09:00", "end": "18:00"}]}; a day left out is closed.'


class CalendarCreate(InputModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000, description="Shown on the public page.")
    time_zone: TimeZone = Field(description="An IANA time zone, such as Europe/Moscow.")
    is_default: bool = Field(default=False, description="Used by teams without their own calendar.")
    public: bool = Field(default=True, description='Shown on the public "when support works" page.')
    week: Week = Field(default_factory=dict, description=WEEK_HELP)
    holidays: Holidays = Field(default_factory=list)
    special_days: SpecialDays = Field(default_factory=list)
    team_ids: list[Id] = Field(default_factory=list, max_length=500, description="Teams that work by this calendar.")


class CalendarUpdate(InputModel):
    """Only the fields given change; week, holidays, special days and teams are replaced as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    time_zone: TimeZone | None = None
    is_default: Literal[True] | None = Field(
        default=None, description="Make this the default calendar (another one then stops being it)."
    )
    public: bool | None = None
    week: Week | None = Field(default=None, description=WEEK_HELP)
    holidays: Holidays | None = None
    special_days: SpecialDays | None = None
    team_ids: list[Id] | None = Field(default=None, max_length=500)


class CalendarRead(OutputModel):
    id: int
    name: str
    description: str
    time_zone: str
    is_default: bool
    public: bool
    week: dict[Weekday, list[HoursRead]]
    holidays: list[HolidayRead]
    special_days: list[SpecialDayRead]
    team_ids: list[int]
    open_now: bool
    next_opening: datetime | None = Field(description="Now when open; null when it never opens again.")
    created_at: datetime
    updated_at: datetime
