"""Macro pages: the list every agent has, the editor, and the picker's search next to the composer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import queries as accounts_queries
from okno.accounts.models import Role
from okno.accounts.permissions import MACRO_MANAGERS, Actor
from okno.automation.macros import render, service
from okno.automation.macros.models import Macro
from okno.automation.macros.schemas import MAX_BODY, MacroActions, MacroCreate, MacroUpdate
from okno.errors import Forbidden, Invalid
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets.models import Priority, TicketStatus
from okno.web.i18n import Gettext
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)

SCOPE_TABS = ("mine", "personal", "team", "everyone", "all")
FORM_FIELDS = {"actions": "action_remove_tags", "actions.assignee": "action_assignee", "actions.team_id": "action_team"}


def describe_actions(words: Gettext, actions: MacroActions, users: dict[int, str], teams: dict[int, str]) -> list[str]:
    """What applying the macro changes, in the reader's language, one short phrase per change."""
    statuses = {
        "open": words.pgettext("status", "Open"),
        "pending": words.pgettext("status", "Pending"),
        "on_hold": words.pgettext("status", "On hold"),
        "solved": words.pgettext("status", "Solved"),
        "closed": words.pgettext("status", "Closed"),
    }
    priorities = {"low": words.gettext("Low"), "normal": words.gettext("Normal")}
    priorities |= {"high": words.gettext("High"), "urgent": words.gettext("Urgent")}
    phrases = []
    if actions.status is not None:
        phrases.append(words.gettext("Status: %(status)s", status=statuses[actions.status]))
    if actions.priority is not None:
        phrases.append(words.gettext("Priority: %(priority)s", priority=priorities[actions.priority]))
    phrases += [f"+{tag}" for tag in actions.add_tags] + [f"−{tag}" for tag in actions.remove_tags]
    if actions.assignee == "me":
        phrases.append(words.gettext("Assign to me"))
    elif actions.assignee == "nobody":
        phrases.append(words.gettext("Unassign"))
    elif actions.assignee is not None:
        phrases.append(words.gettext("Assign to %(agent)s", agent=users.get(actions.assignee, "?")))
    if actions.team_id is not None:
        phrases.append(words.gettext("Team: %(team)s", team=teams.get(actions.team_id, "?")))
    return phrases


def _names(session: Session, macros: list[Macro]) -> tuple[dict[int, str], dict[int, str]]:
    people = {a for m in macros if isinstance(a := (m.actions or {}).get("assignee"), int)}
    return accounts_queries.user_names(session, people), accounts_queries.team_names(session)


def _list(session: Session, actor: Actor, scope: str, sort: str, locale: str) -> dict[str, Any]:
    macros = service.list_macros(session, actor, scope=scope, sort=sort)
    users, teams = _names(session, macros)
    words = Gettext(locale)
    rows = [
        {
            "macro": m,
            "actions": describe_actions(words, service.actions_of(m), users, teams),
            "editable": service.may_manage(actor, m),
        }
        for m in macros
    ]
    return {"rows": rows, "team_names": teams}


@router.get("/macros")
async def macros_page(
    page: StaffPage, scope: str = "mine", sort: str = "title", saved: bool = False, deleted: bool = False
) -> Response:
    assert page.signed_in is not None
    actor = page.signed_in.actor
    manager = actor.role in MACRO_MANAGERS
    if scope not in SCOPE_TABS or (scope == "all" and not manager):
        scope = "mine"
    sort = sort if sort in service.SORTS else "title"
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_list, session, actor, scope, sort, page.locale)
    tabs = [t for t in SCOPE_TABS if t != "all" or manager]
    return page.render(
        "macros/list.html",
        section="macros",
        scope=scope,
        sort=sort,
        tabs=tabs,
        saved=saved,
        deleted=deleted,
        **context,
    )


@router.get("/admin/macros")
async def admin_macros() -> Response:
    return RedirectResponse("/macros?scope=all", status_code=303)


def _sample(actor: Actor, locale: str) -> dict[str, str]:
    """Made-up values for the editor's preview: the writer as the agent, a customer in their language."""
    russian = locale == "ru"
    return render.values(
        customer_name="Анна Смирнова" if russian else "Anna Smith",
        customer_email="anna@example.com",
        ticket_number=1042,
        ticket_subject="Где мой заказ?" if russian else "Where is my order?",
        agent_name=actor.name,
    )


def _form_context(session: Session, actor: Actor, locale: str) -> dict[str, Any]:
    return {
        "sample": _sample(actor, locale),
        "team_names": accounts_queries.team_names(session),
        "agents": accounts_queries.assignable_users(session),
        "statuses": [s.value for s in TicketStatus if s != TicketStatus.new],
        "priorities": [p.value for p in Priority],
        "placeholders": [render.syntax(name) for name in render.PLACEHOLDERS],
        "can_share": actor.role in MACRO_MANAGERS,
        "max_body": MAX_BODY,
    }


def _values_of(macro: Macro | None) -> dict[str, Any]:
    """The editor's fields: a macro's, or a new one's defaults."""
    if macro is None:
        return {"title": "", "body": "", "kind": "reply", "scope": "personal", "team_id": "", "active": True} | {
            "action_status": "",
            "action_priority": "",
            "action_add_tags": "",
            "action_remove_tags": "",
            "action_assignee": "",
            "action_team": "",
        }
    actions = service.actions_of(macro)
    return {
        "title": macro.title,
        "body": macro.body,
        "kind": macro.kind,
        "scope": macro.scope,
        "team_id": str(macro.team_id or ""),
        "active": macro.active,
        "action_status": actions.status or "",
        "action_priority": actions.priority or "",
        "action_add_tags": ", ".join(actions.add_tags),
        "action_remove_tags": ", ".join(actions.remove_tags),
        "action_assignee": str(actions.assignee) if actions.assignee is not None else "",
        "action_team": str(actions.team_id or ""),
    }


def _search(session: Session, actor: Actor, ticket_id: int, q: str, locale: str) -> list[dict[str, Any]]:
    found = service.suggest(session, actor, ticket_id=ticket_id, q=q)
    users, teams = _names(session, [s.macro for s in found])
    words = Gettext(locale)
    return [
        {
            "id": s.macro.id,
            "title": s.macro.title,
            "kind": s.macro.kind,
            "scope": s.macro.scope,
            "text": s.rendered.text,
            "missing": list(s.rendered.missing),
            "status": s.actions.status,
            "actions": describe_actions(words, s.actions, users, teams),
        }
        for s in found
    ]


@router.get("/macros/search")
async def search(page: StaffPage, ticket_id: Id, q: str = "") -> Response:
    """The picker's suggestions for one ticket, rendered for it (JSON for macros.js)."""
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        items = await run_in_threadpool(_search, session, page.signed_in.actor, ticket_id, q[:200], page.locale)
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


@router.get("/macros/new")
async def new_macro(page: StaffPage) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_form_context, session, page.signed_in.actor, page.locale)
    return page.render("macros/edit.html", section="macros", macro=None, values=_values_of(None), errors={}, **context)


@router.get("/macros/{macro_id}")
async def edit_macro(page: StaffPage, macro_id: Id) -> Response:
    assert page.signed_in is not None
    actor = page.signed_in.actor
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        macro = await run_in_threadpool(service.get_macro, session, actor, macro_id)
        if not service.may_manage(actor, macro):
            raise Forbidden(page.gettext("Only admins and supervisors may change team and shared macros."))
        context = await run_in_threadpool(_form_context, session, actor, page.locale)
    return page.render(
        "macros/edit.html", section="macros", macro=macro, values=_values_of(macro), errors={}, **context
    )


def _tags(text: str) -> list[str]:
    return [t for t in (part.strip() for part in text.replace(";", ",").split(",")) if t]


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields as the API's shape; each left empty means "leave alone"."""
    actions: dict[str, Any] = {}
    if form["action_status"]:
        actions["status"] = form["action_status"]
    if form["action_priority"]:
        actions["priority"] = form["action_priority"]
    if form["action_add_tags"].strip():
        actions["add_tags"] = _tags(form["action_add_tags"])
    if form["action_remove_tags"].strip():
        actions["remove_tags"] = _tags(form["action_remove_tags"])
    assignee = form["action_assignee"]
    if assignee:
        actions["assignee"] = int(assignee) if assignee.isdigit() else assignee
    if form["action_team"]:
        actions["team_id"] = int(form["action_team"]) if form["action_team"].isdigit() else form["action_team"]
    team = form["team_id"]
    return {
        "title": form["title"],
        "body": form["body"],
        "kind": form["kind"],
        "scope": form["scope"],
        "team_id": (int(team) if team.isdigit() else team) if form["scope"] == "team" and team else None,
        "active": form["active"],
        "actions": actions,
    }


def _error_fields(error: ValidationError | Invalid | Forbidden) -> set[str]:
    if isinstance(error, ValidationError):
        paths = [".".join(str(p) for p in e["loc"]) for e in error.errors()]
    else:
        paths = [d.get("field", "") for d in error.details] if isinstance(error.details, list) else ["scope"]
    fields = set()
    for path in paths:
        if path in FORM_FIELDS:
            fields.add(FORM_FIELDS[path])
        elif path.startswith("actions."):
            fields.add("action_" + path.split(".")[1].replace("_id", ""))
        else:
            fields.add(path or "body")
    return fields


def _messages(page: Page, fields: set[str], body: str) -> dict[str, str]:
    """Each refused field with a message in the reader's language."""
    unknown = render.unknown_placeholders(body)
    if unknown:
        body_message = page.gettext(
            "Unknown placeholders: %(names)s. Use one of: %(valid)s.",
            names=", ".join(render.syntax(n) for n in unknown),
            valid=", ".join(render.syntax(n) for n in render.PLACEHOLDERS),
        )
    elif len(body) > MAX_BODY:
        body_message = page.gettext("The text may be at most %(num)s characters.", num=MAX_BODY)
    else:
        body_message = page.gettext("Write a text, choose an action, or both.")
    known = {
        "title": page.gettext("Give the macro a title of up to 200 characters."),
        "body": body_message,
        "kind": page.gettext("Choose a public reply or an internal note.")
        if page.signed_in is None or page.signed_in.actor.role != Role.light_agent
        else page.gettext("Your role may keep only internal notes that change nothing on the ticket."),
        "scope": page.gettext("Only admins and supervisors may share macros with a team or with everyone."),
        "team_id": page.gettext("Choose the team this macro is for."),
        "action_status": page.gettext("Choose a status from the list."),
        "action_priority": page.gettext("Choose a priority from the list."),
        "action_add_tags": page.gettext("Tags hold letters, digits and - . : / + (up to 80 characters each)."),
        "action_remove_tags": page.gettext(
            "Tags hold letters, digits and - . : / + (up to 80 characters each); a tag cannot be both added "
            "and removed."
        ),
        "action_assignee": page.gettext("Choose an active agent (a member of the team the macro moves it to)."),
        "action_team": page.gettext("Choose a team from the list."),
        "active": page.gettext("Choose whether the macro is on."),
    }
    return {field: known.get(field, page.gettext("Check this value.")) for field in fields}


async def _save(page: StaffPage, macro_id: int | None, form: dict[str, Any]) -> Response:
    assert page.signed_in is not None
    actor = page.signed_in.actor
    runtime = page.request.app.state.runtime
    try:
        payload = _payload(form)
        async with unit_of_work(runtime, writes=True) as session:
            if macro_id is None:
                data = MacroCreate.model_validate(payload)
                await run_in_threadpool(lambda: service.create_macro(session, actor, data=data))
            else:
                changes = MacroUpdate.model_validate(payload)
                await run_in_threadpool(lambda: service.update_macro(session, actor, macro_id, changes=changes))
    except (ValidationError, Invalid, Forbidden) as refused:
        if isinstance(refused, Forbidden) and not refused.details:
            raise
        errors = _messages(page, _error_fields(refused), form["body"])
        async with unit_of_work(runtime, writes=False) as session:
            context = await run_in_threadpool(_form_context, session, actor, page.locale)
            macro = await run_in_threadpool(service.get_macro, session, actor, macro_id) if macro_id else None
        return page.render(
            "macros/edit.html", 422, section="macros", macro=macro, values=form, errors=errors, **context
        )
    return RedirectResponse("/macros?saved=1", status_code=303)


class MacroForm(BaseModel):
    """The editor's fields, as posted (checked by the API schemas after being reshaped)."""

    title: str = Field(default="", max_length=1000)
    body: str = Field(default="", max_length=MAX_BODY + 1000)
    kind: str = Field(default="reply", max_length=20)
    scope: str = Field(default="personal", max_length=20)
    team_id: str = Field(default="", max_length=20)
    active: bool = False
    action_status: str = Field(default="", max_length=20)
    action_priority: str = Field(default="", max_length=20)
    action_add_tags: str = Field(default="", max_length=2000)
    action_remove_tags: str = Field(default="", max_length=2000)
    action_assignee: str = Field(default="", max_length=20)
    action_team: str = Field(default="", max_length=20)
    csrf_token: str = ""


@router.post("/macros")
async def create_macro(page: StaffPage, form: Annotated[MacroForm, Form()]) -> Response:
    check_csrf(page, form.csrf_token)
    return await _save(page, None, form.model_dump(exclude={"csrf_token"}))


@router.post("/macros/{macro_id}")
async def update_macro(page: StaffPage, macro_id: Id, form: Annotated[MacroForm, Form()]) -> Response:
    check_csrf(page, form.csrf_token)
    return await _save(page, macro_id, form.model_dump(exclude={"csrf_token"}))


@router.post("/macros/{macro_id}/delete")
async def delete_macro(page: StaffPage, macro_id: Id, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        await run_in_threadpool(service.delete_macro, session, page.signed_in.actor, macro_id)
    return RedirectResponse("/macros?deleted=1", status_code=303)
