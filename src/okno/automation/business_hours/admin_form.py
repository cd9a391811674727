"""The calendar form of the admin pages: its fields as text, read into ``CalendarCreate`` with per-field errors.

The week is a grid (a few start/end rows per weekday, overnight ticked per row); holidays and
special dates are lines of text, one date per line, so a year's holidays can be pasted at once:

    yearly holidays   01-07 Christmas            (month-day, or 07.01)
    one-off holidays  2026-05-11 Victory Day     (or 11.05.2026)
    special dates     2026-04-04 10:00-14:00 Working Saturday
                      2026-04-13 Easter Monday   (no hours: closed)
                      2026-12-31 22:00-02:00+1   (+1: ends the next day)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from okno.automation.business_hours.calendar import WEEKDAYS, Hours, week_problems
from okno.automation.business_hours.models import Calendar
from okno.automation.business_hours.schemas import MAX_INTERVALS, CalendarCreate, check_time_zone
from okno.web.i18n import N_, Gettext

TEXT_FIELDS = ("name", "description", "time_zone", "yearly_holidays", "holidays", "special_days")
MESSAGES = {
    "name": N_("Enter a name of at most 120 characters."),
    "description": N_("Use at most 2,000 characters."),
    "time_zone": N_("Choose a time zone from the list, such as Europe/Moscow."),
    "both": N_("Give both the start and the end."),
    "time": N_("Give times as hours and minutes, such as 09:00."),
    "order": N_("An interval that ends before it starts must be marked overnight."),
    "not_overnight": N_("An overnight interval ends the next day, before its start time."),
    "overlap": N_("These hours overlap (overnight hours included)."),
    "too_many": N_("At most %(num)s intervals a day."),
    "line": N_("Line %(line)s: %(problem)s"),
    "date": N_("write a date such as %(example)s"),
    "hours": N_("write hours such as 10:00-14:00 (22:00-06:00+1 ends the next day)"),
    "twice": N_("this date is given twice"),
    "form": N_("Check the form."),
}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\.(\d{1,2})\.?$")
_HOURS = re.compile(r"^(\d{1,2}:\d{2})[-–](\d{1,2}:\d{2})(\+1)?$")


def rows_for(count: int) -> int:
    """Rows shown per weekday in the grid: one free row after the filled ones, at least two."""
    return min(MAX_INTERVALS, max(2, count + 1))


@dataclass
class CalendarForm:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    data: CalendarCreate | None = None


def empty_values() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    values |= {"time_zone": "Europe/Moscow", "is_default": False, "public": True}
    values["week"] = {day: [_blank() for _ in range(2)] for day in WEEKDAYS}
    values["bad_rows"] = set()
    for day in WEEKDAYS[:5]:
        values["week"][day][0] = {"start": "09:00", "end": "18:00", "overnight": False}
    return values


def values_of(row: Calendar) -> dict[str, Any]:
    week: dict[str, list[dict[str, Any]]] = {day: [] for day in WEEKDAYS}
    for i in row.intervals:
        week[WEEKDAYS[i.weekday]].append(
            {"start": f"{i.starts:%H:%M}", "end": f"{i.ends:%H:%M}", "overnight": i.overnight}
        )
    for rows in week.values():
        rows.extend(_blank() for _ in range(rows_for(len(rows)) - len(rows)))
    special = []
    for s in row.special_days:
        hours = " ".join(f"{h['start']}-{h['end']}{'+1' if h.get('overnight') else ''}" for h in s.hours)
        special.append(" ".join(p for p in (s.day.isoformat(), hours, s.name) if p))
    return {
        "name": row.name,
        "description": row.description,
        "time_zone": row.time_zone,
        "is_default": row.is_default,
        "public": row.public,
        "week": week,
        "yearly_holidays": "\n".join(f"{h.day:%m-%d} {h.name}".strip() for h in row.holidays if h.yearly),
        "holidays": "\n".join(f"{h.day.isoformat()} {h.name}".strip() for h in row.holidays if not h.yearly),
        "special_days": "\n".join(special),
        "bad_rows": set(),
    }


def read(form: FormData, words: Gettext) -> CalendarForm:
    """The posted form as ``CalendarCreate`` (``data``), or the values back with an error per field."""
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    values["is_default"] = form.get("is_default") == "on"
    values["public"] = form.get("public") == "on"
    result = CalendarForm(values)
    errors = result.errors
    try:
        check_time_zone(values["time_zone"])
    except ValueError:
        errors["time_zone"] = words.gettext(MESSAGES["time_zone"])
    week = _read_week(form, values, errors, words)
    yearly = _read_dates(values["yearly_holidays"], "yearly_holidays", errors, words, yearly=True)
    one_off = _read_dates(values["holidays"], "holidays", errors, words, yearly=False)
    special = _read_special(values["special_days"], errors, words)
    if errors:
        return result
    try:
        result.data = CalendarCreate.model_validate(
            {
                "name": values["name"],
                "description": values["description"],
                "time_zone": values["time_zone"],
                "is_default": values["is_default"],
                "public": values["public"],
                "week": week,
                "holidays": [{"day": d, "name": n, "yearly": True} for d, n in yearly]
                + [{"day": d, "name": n} for d, n in one_off],
                "special_days": [{"day": d, "name": n, "hours": h} for d, h, n in special],
            }
        )
    except ValidationError as error:
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "form"
            if name == "holidays":  # the same date among the yearly and the one-off ones
                errors["holidays"] = words.gettext(MESSAGES["twice"])
            else:
                errors[name if name in MESSAGES else "form"] = words.gettext(MESSAGES.get(name, MESSAGES["form"]))
    return result


def _blank() -> dict[str, Any]:
    return {"start": "", "end": "", "overnight": False}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _read_week(form: FormData, values: dict[str, Any], errors: dict[str, str], words: Gettext) -> dict[str, Any]:
    week: dict[str, list[dict[str, Any]]] = {}
    grid: dict[str, list[dict[str, Any]]] = {}
    parsed: list[list[Hours]] = []
    bad_rows: set[str] = set()  # the grid rows to mark, "mon-0"
    for day in WEEKDAYS:
        rows: list[dict[str, Any]] = []
        for i in range(MAX_INTERVALS):
            start, end = _padded(_text(form, f"{day}-{i}-start")), _padded(_text(form, f"{day}-{i}-end"))
            rows.append({"start": start, "end": end, "overnight": form.get(f"{day}-{i}-overnight") == "on"})
        filled = [r for r in rows if r["start"] or r["end"]]
        grid[day] = filled + [_blank() for _ in range(rows_for(len(filled)) - len(filled))]
        week[day], hours = [], []
        for i, r in enumerate(filled):
            problem = _row_problem(r)
            if problem:
                errors.setdefault(day, words.gettext(MESSAGES[problem]))
                bad_rows.add(f"{day}-{i}")
                continue
            week[day].append(r)
            hours.append(Hours(time.fromisoformat(r["start"]), time.fromisoformat(r["end"])))
        parsed.append(sorted(hours, key=lambda h: h.start))
    values["week"] = grid
    for weekday, _, _ in week_problems(parsed):
        day = WEEKDAYS[weekday]
        errors.setdefault(day, words.gettext(MESSAGES["overlap"]))
        bad_rows.update(f"{day}-{i}" for i in range(len(week[day])))
    values["bad_rows"] = bad_rows
    return week


def _padded(value: str) -> str:
    """9:00 as 09:00 (browsers without a time picker send what was typed)."""
    return value.zfill(5) if re.match(r"^\d:\d\d$", value) else value


def _row_problem(row: dict[str, Any]) -> str | None:
    if not row["start"] or not row["end"]:
        return "both"
    try:
        start, end = time.fromisoformat(row["start"]), time.fromisoformat(row["end"])
    except ValueError:
        return "time"
    if start.second or end.second or start.microsecond or end.microsecond:
        return "time"
    midnight = end == time(0)
    if not row["overnight"] and end <= start and not midnight:
        return "order"
    if row["overnight"] and end > start and not midnight:
        return "not_overnight"
    return None


def _lines(text: str) -> list[tuple[int, list[str]]]:
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _date(token: str, *, yearly: bool) -> date | None:
    """A date typed by a person: 2026-05-01 or 01.05.2026; for yearly ones also 05-01 or 01.05 (year 2000, leap)."""
    found: tuple[int, int, int] | None = None
    if (m := _ISO.match(token)) is not None:
        found = (int(m[1]), int(m[2]), int(m[3]))
    elif (m := _DOTTED.match(token)) is not None:
        found = (int(m[3]), int(m[2]), int(m[1]))
    elif yearly and (m := _MONTH_DAY.match(token)) is not None:
        found = (2000, int(m[1]), int(m[2]))
    elif yearly and (m := _DAY_MONTH.match(token)) is not None:
        found = (2000, int(m[2]), int(m[1]))
    if found is None:
        return None
    try:
        day = date(*found)
    except ValueError:
        return None
    return day.replace(year=2000) if yearly else day


def _read_dates(
    text: str, name: str, errors: dict[str, str], words: Gettext, *, yearly: bool
) -> list[tuple[date, str]]:
    found: list[tuple[date, str]] = []
    example = "01-07" if yearly else "2026-05-01"
    for number, tokens in _lines(text):
        day = _date(tokens[0], yearly=yearly)
        if day is None or not 1970 <= day.year <= 2199:
            problem = words.gettext(MESSAGES["date"], example=example)
        elif day in {d for d, _ in found}:
            problem = words.gettext(MESSAGES["twice"])
        else:
            found.append((day, " ".join(tokens[1:])[:200]))
            continue
        errors.setdefault(name, words.gettext(MESSAGES["line"], line=number, problem=problem))
    return found


def _read_special(text: str, errors: dict[str, str], words: Gettext) -> list[tuple[date, list[dict[str, Any]], str]]:
    found: list[tuple[date, list[dict[str, Any]], str]] = []
    for number, tokens in _lines(text):
        day = _date(tokens[0], yearly=False)
        hours: list[dict[str, Any]] = []
        rest = tokens[1:]
        while rest and (m := _HOURS.match(rest[0])) is not None:
            hours.append({"start": m[1].zfill(5), "end": m[2].zfill(5), "overnight": bool(m[3])})
            rest = rest[1:]
        problem = None
        if day is None or not 1970 <= day.year <= 2199:
            problem = words.gettext(MESSAGES["date"], example="2026-04-04")
        elif day in {d for d, _, _ in found}:
            problem = words.gettext(MESSAGES["twice"])
        elif (rest and re.match(r"^\d{1,2}:\d{2}", rest[0])) or any(_row_problem(h) for h in hours):
            problem = words.gettext(MESSAGES["hours"])
        elif len(hours) > MAX_INTERVALS:
            problem = words.gettext(MESSAGES["too_many"], num=MAX_INTERVALS)
        elif week_problems([sorted((Hours.parse(f"{h['start']}-{h['end']}") for h in hours), key=lambda h: h.start)]):
            problem = words.gettext(MESSAGES["overlap"])
        if problem is not None:
            errors.setdefault("special_days", words.gettext(MESSAGES["line"], line=number, problem=problem))
            continue
        assert day is not None
        found.append((day, hours, " ".join(rest)[:200]))
    return found
