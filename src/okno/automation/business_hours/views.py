"""The public "when support works" page: each public calendar's week, coming holidays, open now or when next.

No sign-in; the visitor's language as on the portal pages. Times are shown in each calendar's own
time zone (named on the page), since that is what the hours are written in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date, get_day_names
from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from okno.automation.business_hours import queries
from okno.automation.business_hours.calendar import WEEKDAYS
from okno.channels.portal.pages import VisitorPage, run
from okno.db import utcnow
from okno.web.i18n import Formatter

router = APIRouter(include_in_schema=False)


def weekday_names(locale: str) -> list[str]:
    """Monday first, capitalised ("Понедельник"), as headings of a week."""
    names = get_day_names("wide", locale=locale)
    return [str(names[i]).capitalize() for i in range(7)]


def _now(session: Session) -> dict[str, Any]:
    now = utcnow(session)
    return {"now": now, "calendars": queries.calendars_now(session, now)}


def _offset(at: datetime) -> str:
    raw = at.strftime("%z")  # +0300
    return f"UTC{raw[:3]}:{raw[3:]}" if raw[3:] != "00" else f"UTC{raw[:3]}"


@router.get("/support/hours")
async def support_hours(page: VisitorPage) -> Response:
    context = await run(page, False, _now)
    now: datetime = context["now"]
    locale = page.locale

    def when(at: datetime | None, zone: str) -> str:
        """A local time: just the time today, else the weekday and date too."""
        if at is None:
            return ""
        fmt = Formatter(locale, zone)
        same_day = at.date() == now.astimezone(at.tzinfo).date()
        return fmt.instant(at, "HH:mm" if same_day else "EEEE, d MMMM, HH:mm")

    def day(value: date) -> str:
        return str(format_date(value, "EEEE, d MMMM", locale=locale))

    return page.render(
        "business_hours/public.html",
        section="hours",
        calendars=context["calendars"],
        weekdays=WEEKDAYS,
        day_names=weekday_names(locale),
        when=when,
        day=day,
        local_now=lambda zone: Formatter(locale, zone).instant(now, "HH:mm"),
        offset=lambda tz: _offset(now.astimezone(tz)),
    )
