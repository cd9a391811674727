"""Business-hours calendars for teams: which calendar applies, and whether a team is on shift.

A team uses its own calendar, else the default calendar; with neither it is always open (None).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from okno.automation.business_hours.calendar import BusinessCalendar, is_open


def calendar_for_team(session: Session, team_id: int | None) -> BusinessCalendar | None:
    """The calendar a team works by: its own, else the default one, else None (always open)."""
    # Calendars are not stored yet: every team is always open.
    return None


def on_shift(session: Session, team_id: int | None, at: datetime) -> bool:
    """Whether the team's calendar is open at ``at`` (always, for a team without a calendar)."""
    calendar = calendar_for_team(session, team_id)
    return calendar is None or is_open(calendar, at)
