"""Admin pages for business-hours calendars: the list, a calendar's week, holidays and special dates, its teams.

Administrators only. The rules live in ``service`` and ``schemas``; ``admin_form`` reads the form
and puts each refusal next to its field.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.business_hours import admin_form, queries, service
from okno.automation.business_hours.calendar import WEEKDAYS, is_open, next_opening
from okno.automation.business_hours.schemas import CalendarUpdate
from okno.automation.business_hours.views import weekday_names
from okno.db import utcnow
from okno.errors import Conflict
from okno.schemas import Id
from okno.web import forms
from okno.web.i18n import Formatter, Gettext
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)
BASE = "/admin/business-hours"
_ZONES: list[str] = []


def time_zones() -> list[str]:
    """Every IANA zone name, for the form's list (read once: it scans the zone files)."""
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))
    return _ZONES


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    now = utcnow(session)
    rows = queries.list_calendars(session)
    teams = service.team_ids_of(session, [r.id for r in rows])
    items = []
    for row in rows:
        built = service.business_calendar(row)
        items.append(
            {
                "row": row,
                "teams": teams[row.id],
                "open_now": is_open(built, now),
                "next_opening": next_opening(built, now),
                "week": {WEEKDAYS[i.weekday] for i in row.intervals},
            }
        )
    return {"items": items, "team_names": accounts_queries.team_names(session)}


@router.get(BASE)
async def calendars_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _list, page.actor)
    return forms.render_admin(
        page,
        "admin/business_hours.html",
        admin_key="business_hours",
        done=done,
        day_names=weekday_names(page.locale),
        weekdays=WEEKDAYS,
        local=lambda at, zone: Formatter(page.locale, zone).instant(at, "EEE d MMM, HH:mm"),
        **context,
    )


def _editor(session: Session, actor: Actor, calendar_id: int | None) -> dict[str, Any]:
    require_admin(actor)
    context: dict[str, Any] = {"calendar": None, "team_names": accounts_queries.team_names(session)}
    if calendar_id is not None:
        row = service.get_calendar(session, actor, calendar_id)
        context |= {
            "calendar": row,
            "values": admin_form.values_of(row),
            "teams": service.team_ids_of(session, [row.id])[row.id],
            "calendar_of_team": _calendar_of_team(session),
        }
    return context


def _calendar_of_team(session: Session) -> dict[int, str]:
    """Which other calendar each team works by now (for the teams card)."""
    rows = queries.list_calendars(session)
    teams = service.team_ids_of(session, [r.id for r in rows])
    return {team_id: r.name for r in rows for team_id in teams[r.id]}


async def _render_editor(
    page: Page, calendar_id: int | None, status: int = 200, *, values: dict[str, Any] | None = None, **extra: Any
) -> Response:
    context = await forms.run(page, False, _editor, page.actor, calendar_id)
    if values is not None:
        context["values"] = values
    context.setdefault("values", admin_form.empty_values())
    return forms.render_admin(
        page,
        "admin/business_hours_edit.html",
        status,
        admin_key="business_hours",
        weekdays=WEEKDAYS,
        day_names=weekday_names(page.locale),
        time_zones=time_zones(),
        rows=lambda text: min(14, max(4, len(text.splitlines()) + 1)),
        **context,
        **extra,
    )


@router.get(BASE + "/new")
async def new_calendar(page: StaffPage) -> Response:
    return await _render_editor(page, None)


@router.post(BASE)
async def create_calendar(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    read = admin_form.read(form, Gettext(page.locale))
    if read.data is not None:
        try:
            row = await forms.run(page, True, service.create_calendar, page.actor, data=read.data)
        except Conflict:
            read.errors["name"] = page.gettext("A calendar with this name exists already.")
        else:
            return RedirectResponse(f"{BASE}/{row.id}?done=created", status_code=303)
    return await _render_editor(page, None, 422, values=read.values, errors=read.errors)


@router.get(BASE + "/{calendar_id}")
async def edit_calendar(page: StaffPage, calendar_id: Id, done: str | None = None) -> Response:
    return await _render_editor(page, calendar_id, done=done)


@router.post(BASE + "/{calendar_id}")
async def update_calendar(page: StaffPage, calendar_id: Id) -> Response:
    form = await forms.read_form(page)
    read = admin_form.read(form, Gettext(page.locale))
    if read.data is not None:
        fields = read.data.model_dump(exclude={"team_ids", "is_default"})
        changes = CalendarUpdate.model_validate({**fields, "is_default": True if read.data.is_default else None})
        try:
            await forms.run(page, True, service.update_calendar, page.actor, calendar_id, changes=changes)
        except Conflict:
            read.errors["name"] = page.gettext("A calendar with this name exists already.")
        else:
            return RedirectResponse(f"{BASE}/{calendar_id}?done=saved", status_code=303)
    return await _render_editor(page, calendar_id, 422, values=read.values, errors=read.errors)


def _set_teams(session: Session, actor: Actor, calendar_id: int, team_ids: list[int]) -> None:
    service.update_calendar(session, actor, calendar_id, changes=CalendarUpdate(team_ids=team_ids))


@router.post(BASE + "/{calendar_id}/teams")
async def set_teams(page: StaffPage, calendar_id: Id) -> Response:
    form = await forms.read_form(page)
    await forms.run(page, True, _set_teams, page.actor, calendar_id, forms.ids(form, "team_ids"))
    return RedirectResponse(f"{BASE}/{calendar_id}?done=teams#teams", status_code=303)


@router.post(BASE + "/{calendar_id}/delete")
async def delete_calendar(page: StaffPage, calendar_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, service.delete_calendar, page.actor, calendar_id)
    except Conflict:
        error = page.gettext("This is the default calendar. Make another calendar the default first.")
        return await _render_editor(page, calendar_id, 409, errors={"delete": error})
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)
