"""Which time a policy counts for one ticket: its team's business hours, or every hour.

Until business-hours calendars exist every desk is treated as always open.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from okno.automation.sla.clock import CALENDAR_TIME, Measure


@dataclass(frozen=True)
class Timing:
    measure: Measure
    # The calendar's zone: due times told to customers are in the desk's own local time.
    time_zone: str


def timing_for(session: Session, *, business_hours: bool, team_id: int | None) -> Timing:
    return Timing(CALENDAR_TIME, "UTC")
