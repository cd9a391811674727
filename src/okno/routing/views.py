"""Routing pages in the admin section: teams' policies and queues, agents' loads and capacities.

Administrators change settings; supervisors see the same pages read-only (loads and queues
are what they watch during the day).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, may_administer
from okno.errors import Invalid
from okno.routing import profiles
from okno.routing.policies import CHANNELS, DEFAULT_CAPACITY, MAX_CAPACITY, Policy, SkillMatch
from okno.routing.schemas import AgentRoutingUpdate, TeamRoutingUpdate
from okno.schemas import Id
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)

CAPACITY_ERROR = N_("Enter a whole number from 0 to %(max)s, or leave it empty for the default.")


def _timeout(page: Page) -> int:
    return int(page.request.app.state.runtime.settings.presence_timeout_seconds)


@router.get("/admin/routing")
async def routing_page(page: StaffPage) -> Response:
    teams = await forms.run(page, False, profiles.list_teams, page.actor)
    return forms.render_admin(
        page, "routing/teams.html", admin_key="routing", teams=teams, can_edit=may_administer(page.actor)
    )


def _team(session: Session, actor: Actor, team_id: int, timeout: int) -> dict[str, Any]:
    team = profiles.get_team(session, actor, team_id, presence_timeout_seconds=timeout)
    # Chat and email always; other channels once someone works on them or has a capacity of their own.
    used = {ch for a in team.agents for ch in (*a.loads, *a.own_capacities)}
    return {"team": team, "shown": [ch for ch in CHANNELS if ch in {"chat", "email"} | used]}


async def _team_render(page: Page, team_id: int, status: int = 200, **extra: Any) -> Response:
    context = await forms.run(page, False, _team, page.actor, team_id, _timeout(page))
    return forms.render_admin(
        page,
        "routing/team.html",
        status,
        admin_key="routing",
        can_edit=may_administer(page.actor),
        policies=[p.value for p in Policy],
        matches=[m.value for m in SkillMatch],
        **context,
        **extra,
    )


@router.get("/admin/routing/teams/{team_id}")
async def team_page(page: StaffPage, team_id: Id, done: str | None = None) -> Response:
    return await _team_render(page, team_id, done=done)


@router.post("/admin/routing/teams/{team_id}")
async def save_team(page: StaffPage, team_id: Id) -> Response:
    form = await forms.read_form(page)
    try:
        changes = TeamRoutingUpdate.model_validate(
            {"policy": forms.text(form, "policy"), "skill_match": forms.text(form, "skill_match")}
        )
    except ValidationError:
        return await _team_render(page, team_id, 422, errors={"form": page.gettext(forms.CHECK_FORM)})
    await forms.run(page, True, profiles.update_team, page.actor, team_id, changes=changes)
    return RedirectResponse(f"/admin/routing/teams/{team_id}?done=saved", status_code=303)


def _agent(session: Session, actor: Actor, user_id: int, timeout: int) -> dict[str, Any]:
    return {"agent": profiles.get_agent(session, actor, user_id, presence_timeout_seconds=timeout)}


async def _agent_render(page: Page, user_id: int, status: int = 200, **extra: Any) -> Response:
    context = await forms.run(page, False, _agent, page.actor, user_id, _timeout(page))
    values = extra.pop("values", None) or {ch: context["agent"].own_capacities.get(ch, "") for ch in CHANNELS}
    return forms.render_admin(
        page,
        "routing/agent.html",
        status,
        admin_key="routing",
        can_edit=may_administer(page.actor),
        channels=CHANNELS,
        defaults=DEFAULT_CAPACITY,
        max_capacity=MAX_CAPACITY,
        values=values,
        **context,
        **extra,
    )


@router.get("/admin/routing/agents/{user_id}")
async def agent_page(page: StaffPage, user_id: Id, done: str | None = None) -> Response:
    return await _agent_render(page, user_id, done=done)


@router.post("/admin/routing/agents/{user_id}")
async def save_agent(page: StaffPage, user_id: Id) -> Response:
    form = await forms.read_form(page)
    values = {ch: forms.text(form, f"capacity_{ch}") for ch in CHANNELS}
    capacities: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for channel, text in values.items():
        if not text:
            capacities[channel] = None
        elif text.isdigit() and int(text) <= MAX_CAPACITY:
            capacities[channel] = int(text)
        else:
            errors[f"capacity_{channel}"] = page.gettext(CAPACITY_ERROR, max=MAX_CAPACITY)
    if errors:
        return await _agent_render(page, user_id, 422, values=values, errors=errors)
    try:
        changes = AgentRoutingUpdate(capacities=capacities)
        timeout = _timeout(page)
        await forms.run(
            page, True, profiles.update_agent, page.actor, user_id, changes=changes, presence_timeout_seconds=timeout
        )
    except (ValidationError, Invalid):
        return await _agent_render(page, user_id, 422, values=values, errors={"form": page.gettext(forms.CHECK_FORM)})
    return RedirectResponse(f"/admin/routing/agents/{user_id}?done=saved", status_code=303)
