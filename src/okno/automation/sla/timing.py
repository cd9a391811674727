"""Which time a policy counts for one ticket: its team's business hours, or every hour.

The calendar is the ticket's team's, else the default one (``business_hours.calendar_for_team``);
with none at all the desk counts as always open. Due times told to customers are in the
calendar's zone, also under a calendar-time policy: it is where the desk is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from okno.automation.business_hours import calendar as business_calendar
from okno.automation.business_hours import service as calendars
from okno.automation.sla.clock import CALENDAR_TIME, Measure


class BusinessTime:
    """Only the calendar's open hours count (pure: the calendar is a frozen value)."""

    def __init__(self, calendar: business_calendar.BusinessCalendar) -> None:
        self.calendar = calendar

    def add(self, start: datetime, delta: timedelta) -> datetime | None:
        try:
            return business_calendar.add_business_time(self.calendar, start, delta)
        except business_calendar.NeverOpen:
            return None  # a calendar that never opens again: the target is never due

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(business_calendar.business_time_between(self.calendar, start, end), timedelta(0))


@dataclass(frozen=True)
class Timing:
    measure: Measure
    time_zone: str


def timing_for(session: Session, *, business_hours: bool, team_id: int | None) -> Timing:
    calendar = calendars.calendar_for_team(session, team_id)
    if calendar is None:
        return Timing(CALENDAR_TIME, "UTC")
    return Timing(BusinessTime(calendar) if business_hours else CALENDAR_TIME, calendar.time_zone)
