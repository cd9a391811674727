"""Admin pages for people (invitations, roles, teams, deactivation) and teams.

Administrators change things; supervisors may look at the users and teams lists (see
``accounts.permissions.may_see_directory``). Every rule lives in the services: these
handlers read the form, call a service in one unit of work, and turn refusals into
messages next to the field they concern.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from okno.accounts import invitations, presence
from okno.accounts import queries as accounts_queries
from okno.accounts import service as accounts_service
from okno.accounts.models import STAFF_ROLES, Role, User
from okno.accounts.permissions import Actor, may_administer, require_admin, require_directory
from okno.accounts.schemas import TeamCreate, TeamMembers, TeamUpdate, UserInvite, UserUpdate
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound, OknoError
from okno.schemas import Id
from okno.web import forms
from okno.web.admin_nav import sections_for
from okno.web.i18n import LOCALES, N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)
STAFF_ROLE_ORDER = [Role.admin, Role.supervisor, Role.agent, Role.light_agent]

# What a refusal from the services means on a form: the field it belongs to, and the message (translated).
USER_ERRORS = {
    "email": N_("Enter a valid email address."),
    "name": N_("Enter a name."),
    "role": N_("Choose a role from the list."),
    "team_ids": N_("Choose teams from the list."),
    "languages": N_("Use language codes such as en, ru, de, separated by commas."),
    "skills": N_("Skills are words of up to 60 letters, digits, spaces or - . + /, separated by commas."),
    "locale": N_("Choose one of the offered languages."),
}
TEAM_ERRORS = {
    "name": N_("Enter a team name of at most 120 characters."),
    "description": N_("The description is too long (at most 2,000 characters)."),
    "user_ids": N_("Choose members from the list of active staff."),
}


@router.get("/admin")
async def admin_home(page: StaffPage) -> Response:
    sections = sections_for(page.actor)
    if not sections:
        require_directory(page.actor)  # raises: nothing here for this role
    return RedirectResponse(sections[0].path, status_code=303)


# ---- users ----


def _users(session: Session, actor: Actor, show: str, timeout: int) -> dict[str, Any]:
    require_directory(actor)
    active = {"active": True, "deactivated": False}.get(show)
    users = accounts_service.list_users(session, actor, active=active, staff_only=True)
    users.sort(key=lambda u: (u.name.lower(), u.id))
    statuses = {p.user_id: p.status.value for p in presence.team_presence(session, actor, timeout_seconds=timeout)}
    return {
        "users": users,
        "presence_of": statuses,
        "invited": invitations.pending(session, {u.id for u in users if u.password_hash is None}),
        "now": utcnow(session),
        "show": show if show in {"active", "deactivated", "all"} else "active",
    }


@router.get("/admin/users")
async def users_page(page: StaffPage, show: str = "active", done: str | None = None, n: int = 0) -> Response:
    timeout = page.request.app.state.runtime.settings.presence_timeout_seconds
    context = await forms.run(page, False, _users, page.actor, show, timeout)
    return page.render(
        "admin/users.html",
        section="admin",
        admin_key="users",
        can_edit=may_administer(page.actor),
        done=done,
        done_count=n,
        **context,
    )


def _user_form_context(session: Session, actor: Actor, user_id: int | None) -> dict[str, Any]:
    require_admin(actor)
    context: dict[str, Any] = {
        "roles": STAFF_ROLE_ORDER,
        "teams": accounts_queries.team_names(session),
        "locales": LOCALES,
    }
    if user_id is not None:
        user = accounts_service.get_user(session, actor, user_id)
        if user.role not in STAFF_ROLES:
            raise NotFound("User not found.")
        context["person"] = user
        context["invited_until"] = invitations.pending(session, {user.id}).get(user.id)
        context["now"] = utcnow(session)
    return context


def _invite_values(form: FormData | None, locale: str = "en") -> dict[str, Any]:
    if form is None:
        return {
            "email": "",
            "name": "",
            "role": "agent",
            "team_ids": [],
            "languages": "",
            "skills": "",
            "limited_to_teams": False,
            "locale": locale,  # the inviting admin's language is the likeliest guess
        }
    return {
        "email": forms.text(form, "email"),
        "name": forms.text(form, "name"),
        "role": forms.text(form, "role"),
        "team_ids": forms.ids(form, "team_ids"),
        "languages": forms.text(form, "languages"),
        "skills": forms.text(form, "skills"),
        "limited_to_teams": form.get("limited_to_teams") == "on",
        "locale": forms.text(form, "locale") or "en",
    }


@router.get("/admin/users/new")
async def invite_form(page: StaffPage) -> Response:
    context = await forms.run(page, False, _user_form_context, page.actor, None)
    return page.render(
        "admin/invite.html",
        section="admin",
        admin_key="users",
        values=_invite_values(None, page.locale),
        errors={},
        **context,
    )


def _invite(session: Session, actor: Actor, data: UserInvite) -> tuple[User, datetime, str]:
    user, row, token = invitations.invite_user(session, actor, data=data)
    return user, row.expires_at, token


def _show_invitation(page: Page, person: User, token: str, expires_at: datetime, *, new_user: bool) -> Response:
    """The link, shown once: only its hash is kept."""
    return page.render(
        "admin/invitation_link.html",
        section="admin",
        admin_key="users",
        person=person,
        link=_invitation_link(page, token),
        expires_at=expires_at,
        new_user=new_user,
    )


def _invitation_link(page: Page, token: str) -> str:
    settings = page.request.app.state.runtime.settings
    # The configured public address when there is one; otherwise the address the admin is using.
    base = settings.base_url if "base_url" in settings.model_fields_set else str(page.request.base_url)
    return f"{base.rstrip('/')}/invite/{token}"


@router.post("/admin/users")
async def invite(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _invite_values(form)
    errors: dict[str, str] = {}
    try:
        data = UserInvite.model_validate(
            {**values, "languages": forms.words(values["languages"]), "skills": forms.words(values["skills"])}
        )
        user, expires_at, token = await forms.run(page, True, _invite, page.actor, data)
    except ValidationError as error:
        errors = forms.field_errors(page, error, USER_ERRORS)
    except Conflict as refused:
        if refused.code != "email_taken":
            raise
        errors = {"email": page.gettext("A user with this email address already exists.")}
    except Invalid as refused:
        field = refused.details[0]["field"] if refused.details else "form"
        errors = {field: page.gettext(USER_ERRORS.get(field, forms.CHECK_FORM))}
    if errors:
        context = await forms.run(page, False, _user_form_context, page.actor, None)
        return page.render(
            "admin/invite.html", 422, section="admin", admin_key="users", values=values, errors=errors, **context
        )
    return _show_invitation(page, user, token, expires_at, new_user=True)


@router.get("/admin/users/{user_id}")
async def user_page(page: StaffPage, user_id: Id, done: str | None = None, n: int = 0) -> Response:
    context = await forms.run(page, False, _user_form_context, page.actor, user_id)
    return page.render(
        "admin/user.html",
        section="admin",
        admin_key="users",
        errors={},
        values=None,
        done=done,
        done_count=n,
        **context,
    )


@router.post("/admin/users/{user_id}")
async def save_user(page: StaffPage, user_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _invite_values(form)
    errors: dict[str, str] = {}
    actor = page.actor
    try:
        changes = UserUpdate.model_validate(
            {
                "name": values["name"],
                "role": values["role"],
                "team_ids": values["team_ids"],
                "limited_to_teams": values["limited_to_teams"],
                "languages": forms.words(values["languages"]),
                "skills": forms.words(values["skills"]),
            }
        )
        await forms.run(page, True, accounts_service.update_user, actor, user_id, changes=changes)
    except ValidationError as error:
        errors = forms.field_errors(page, error, USER_ERRORS)
    except Conflict as refused:
        if refused.code != "last_admin":
            raise
        errors = {
            "role": page.gettext("This is the last active administrator. Make someone else an administrator first.")
        }
    except Invalid as refused:
        field = refused.details[0]["field"] if refused.details else "form"
        errors = {field: page.gettext(USER_ERRORS.get(field, forms.CHECK_FORM))}
    if errors:
        context = await forms.run(page, False, _user_form_context, actor, user_id)
        return page.render(
            "admin/user.html",
            422,
            section="admin",
            admin_key="users",
            errors=errors,
            values=values,
            done=None,
            done_count=0,
            **context,
        )
    if user_id == actor.user_id and values["role"] != Role.admin:
        return RedirectResponse("/inbox", status_code=303)  # no longer an administrator
    return RedirectResponse(f"/admin/users/{user_id}?done=saved", status_code=303)


async def _user_action_refused(page: Page, user_id: int, message: str) -> Response:
    context = await forms.run(page, False, _user_form_context, page.actor, user_id)
    return page.render(
        "admin/user.html",
        409,
        section="admin",
        admin_key="users",
        errors={"status": message},
        values=None,
        done=None,
        done_count=0,
        **context,
    )


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate(page: StaffPage, user_id: Id) -> Response:
    await forms.read_form(page)
    try:
        handed_back = await forms.run(page, True, accounts_service.deactivate_user, page.actor, user_id)
    except Conflict as refused:
        messages = {
            "self_deactivation": N_("You cannot deactivate your own account."),
            "last_admin": N_("This is the last active administrator. Make someone else an administrator first."),
        }
        if refused.code not in messages:
            raise
        return await _user_action_refused(page, user_id, page.gettext(messages[refused.code]))
    return RedirectResponse(f"/admin/users/{user_id}?done=deactivated&n={handed_back}", status_code=303)


@router.post("/admin/users/{user_id}/reactivate")
async def reactivate(page: StaffPage, user_id: Id) -> Response:
    await forms.read_form(page)
    await forms.run(page, True, accounts_service.update_user, page.actor, user_id, changes=UserUpdate(is_active=True))
    return RedirectResponse(f"/admin/users/{user_id}?done=reactivated", status_code=303)


def _reissue(session: Session, actor: Actor, user_id: int) -> tuple[User, datetime, str]:
    row, token = invitations.reissue(session, actor, user_id)
    return accounts_service.get_user(session, actor, user_id), row.expires_at, token


@router.post("/admin/users/{user_id}/invitation")
async def new_invitation(page: StaffPage, user_id: Id) -> Response:
    await forms.read_form(page)
    try:
        user, expires_at, token = await forms.run(page, True, _reissue, page.actor, user_id)
    except Conflict as refused:
        messages = {
            "already_accepted": N_("This person has already set a password; an invitation is not needed."),
            "user_deactivated": N_("The account is deactivated. Reactivate it first."),
        }
        if refused.code not in messages:
            raise
        return await _user_action_refused(page, user_id, page.gettext(messages[refused.code]))
    return _show_invitation(page, user, token, expires_at, new_user=False)


# ---- teams ----


def _teams(session: Session, actor: Actor) -> dict[str, Any]:
    require_directory(actor)
    teams = accounts_service.list_teams(session, actor)
    members: dict[int, list[str]] = {}
    for user in accounts_service.list_users(session, actor, active=True, staff_only=True):
        for team in user.teams:
            members.setdefault(team.id, []).append(user.name)
    return {"teams": teams, "members": {k: sorted(v, key=str.lower) for k, v in members.items()}}


def _teams_render(page: Page, context: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    values = extra.pop("values", {"name": "", "description": ""})
    return page.render(
        "admin/teams.html",
        status,
        section="admin",
        admin_key="teams",
        can_edit=may_administer(page.actor),
        values=values,
        **{"errors": {}, "done": None, **extra},
        **context,
    )


@router.get("/admin/teams")
async def teams_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _teams, page.actor)
    return _teams_render(page, context, done=done)


def _team_errors(page: Page, error: OknoError | ValidationError) -> dict[str, str]:
    if isinstance(error, ValidationError):
        return forms.field_errors(page, error, TEAM_ERRORS)
    if isinstance(error, Conflict) and error.code == "name_taken":
        return {"name": page.gettext("A team with this name already exists.")}
    if isinstance(error, Invalid):
        field = error.details[0]["field"] if error.details else "form"
        return {field: page.gettext(TEAM_ERRORS.get(field, forms.CHECK_FORM))}
    raise error


@router.post("/admin/teams")
async def create_team(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = {"name": forms.text(form, "name"), "description": forms.text(form, "description")}
    try:
        team = await forms.run(page, True, accounts_service.create_team, page.actor, data=TeamCreate(**values))
    except (ValidationError, Conflict, Invalid) as error:
        context = await forms.run(page, False, _teams, page.actor)
        return _teams_render(page, context, 422, values=values, errors=_team_errors(page, error))
    return RedirectResponse(f"/admin/teams/{team.id}?done=created", status_code=303)


def _team(session: Session, actor: Actor, team_id: int) -> dict[str, Any]:
    require_admin(actor)
    team = accounts_service.get_team(session, actor, team_id)
    staff = accounts_service.list_users(session, actor, active=True, staff_only=True)
    staff.sort(key=lambda u: (u.name.lower(), u.id))
    return {"team": team, "staff": staff, "member_ids": accounts_queries.team_member_ids(session, team.id)}


async def _team_render(page: Page, team_id: int, status: int = 200, **extra: Any) -> Response:
    context = await forms.run(page, False, _team, page.actor, team_id)
    values = extra.pop("values", None) or {"name": context["team"].name, "description": context["team"].description}
    return page.render(
        "admin/team.html",
        status,
        section="admin",
        admin_key="teams",
        values=values,
        **{"errors": {}, "done": None, **extra},
        **context,
    )


@router.get("/admin/teams/{team_id}")
async def team_page(page: StaffPage, team_id: Id, done: str | None = None) -> Response:
    return await _team_render(page, team_id, done=done)


@router.post("/admin/teams/{team_id}")
async def save_team(page: StaffPage, team_id: Id) -> Response:
    form = await forms.read_form(page)
    values = {"name": forms.text(form, "name"), "description": forms.text(form, "description")}
    try:
        changes = TeamUpdate(**values)
        await forms.run(page, True, accounts_service.update_team, page.actor, team_id, changes=changes)
    except (ValidationError, Conflict, Invalid) as error:
        return await _team_render(page, team_id, 422, values=values, errors=_team_errors(page, error))
    return RedirectResponse(f"/admin/teams/{team_id}?done=saved", status_code=303)


@router.post("/admin/teams/{team_id}/members")
async def save_members(page: StaffPage, team_id: Id) -> Response:
    form = await forms.read_form(page)
    try:
        data = TeamMembers(user_ids=forms.ids(form, "user_ids"))
        await forms.run(page, True, accounts_service.set_team_members, page.actor, team_id, data=data)
    except (ValidationError, Invalid) as error:
        return await _team_render(page, team_id, 422, errors=_team_errors(page, error))
    return RedirectResponse(f"/admin/teams/{team_id}?done=members", status_code=303)


@router.post("/admin/teams/{team_id}/delete")
async def delete_team(page: StaffPage, team_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, accounts_service.delete_team, page.actor, team_id)
    except Conflict as refused:
        if refused.code != "in_use":
            raise
        message = page.gettext("This team still has tickets. Move them to another team first, then delete it.")
        return await _team_render(page, team_id, 409, errors={"delete": message})
    return RedirectResponse("/admin/teams?done=deleted", status_code=303)
