"""The inbox page: views with live counts, the filter bar, sorts, saved views and bulk actions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from okno.accounts import presence
from okno.accounts import queries as accounts_queries
from okno.accounts.models import Role
from okno.accounts.permissions import Actor, may_share_views, require_may_manage_view
from okno.channels.spam import service as spam_service
from okno.customers.models import Plan
from okno.db import utcnow
from okno.errors import Forbidden, NotFound, OknoError
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import bulk, inbox, queries, saved_views
from okno.tickets.models import Channel, Priority, TicketStatus, ViewScope
from okno.tickets.schemas import SavedViewFilters, SavedViewIn, TicketUpdate
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
# The sorts offered in the inbox (URL value -> queries sort); the first is the default.
SORT_CHOICES = {
    "activity": "-last_activity_at",
    "priority": "-priority",
    "waiting": "waiting_since",
    "created": "-created_at",
    "sla": "sla_due_at",
}
SORT_OF_QUERY = {value: key for key, value in SORT_CHOICES.items()}
# Filter bar parameters in the URL -> SavedViewFilters fields.
BAR_PARAMS = {
    "status": "status",
    "team": "team_id",
    "assignee": "assignee",
    "tag": "tag",
    "channel": "channel",
    "priority": "priority",
    "plan": "customer_plan",
}
LIST_FIELDS = {"status", "priority"}
# Bulk actions that are not field changes: into the spam folder and out of it.
SPAM_ACTIONS: dict[str, Callable[[Session, Actor, int], object]] = {
    "spam:mark": spam_service.mark,
    "spam:unmark": spam_service.unmark,
}


@dataclass
class InboxRequest:
    """What the URL asks for: a view, filter bar values, a sort, a page, a search."""

    view_key: str = "mine"
    bar: SavedViewFilters = field(default_factory=SavedViewFilters)
    bar_errors: dict[str, str] = field(default_factory=dict)
    filtered: bool = False  # the filter bar was submitted (on a saved view it then replaces its filters)
    sort: str | None = None
    cursor: str | None = None
    q: str | None = None
    done: str | None = None

    @classmethod
    def parse(cls, params: QueryParams) -> InboxRequest:
        bar, errors = parse_bar(params)
        sort = params.get("sort")
        return cls(
            view_key=params.get("view") or "mine",
            bar=bar,
            bar_errors=errors,
            filtered=params.get("filtered") == "1",
            sort=sort if sort in SORT_CHOICES else None,
            cursor=params.get("cursor") or None,
            q=(params.get("q") or "").strip()[:200] or None,
            done=params.get("done") or None,
        )


def parse_bar(params: QueryParams) -> tuple[SavedViewFilters, dict[str, str]]:
    """The filter bar's values; a value that does not parse is dropped and reported next to its field."""
    raw: dict[str, Any] = {}
    for param, name in BAR_PARAMS.items():
        if name in LIST_FIELDS:
            raw[name] = [v for v in params.getlist(param) if v]
        else:
            raw[name] = params.get(param) or None
    errors: dict[str, str] = {}
    for _attempt in range(len(raw) + 1):
        try:
            return SavedViewFilters.model_validate(raw), errors
        except ValidationError as invalid:
            for error in invalid.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                if name in raw:
                    errors[name] = "invalid"
                    raw[name] = [] if name in LIST_FIELDS else None
    return SavedViewFilters(), errors


def bar_query(bar: SavedViewFilters) -> list[tuple[str, str]]:
    """The filter bar as URL parameters (the inverse of parse_bar)."""
    values = bar.model_dump(mode="json")
    pairs: list[tuple[str, str]] = []
    for param, name in BAR_PARAMS.items():
        value = values.get(name)
        if isinstance(value, list):
            pairs += [(param, str(v)) for v in value]
        elif value is not None:
            pairs.append((param, str(value)))
    return pairs


def inbox_url(req: InboxRequest, *, sort: str | None = None, cursor: str | None = None) -> str:
    pairs: list[tuple[str, str]] = [("view", req.view_key)]
    if req.filtered or req.bar != SavedViewFilters():
        pairs += [("filtered", "1"), *bar_query(req.bar)]
    chosen = sort or req.sort
    if chosen:
        pairs.append(("sort", chosen))
    if req.q:
        pairs.append(("q", req.q))
    if cursor:
        pairs.append(("cursor", cursor))
    return "/inbox?" + urlencode(pairs)


def _inbox(
    session: Session,
    actor: Actor,
    counts: inbox.CountCache,
    req: InboxRequest,
    presence_timeout: int,
) -> dict[str, Any]:
    now = utcnow(session)
    mine = [saved_views.describe(v) for v in saved_views.list_views(session, actor)]
    saved = None
    if req.view_key.startswith("saved-"):
        wanted = req.view_key.removeprefix("saved-")
        saved = next((v for v in mine if str(v["id"]) == wanted), None)
        if saved is None:
            raise NotFound("View not found.")
    builtin = inbox.BY_KEY.get(req.view_key, inbox.VIEWS[0]) if saved is None else None
    if builtin is not None:
        req.view_key = builtin.key
    narrower: list[queries.TicketFilters] = []
    if saved is not None:
        if not req.filtered:
            req.bar = saved["filters"]
        base = saved_views.ticket_filters(actor, req.bar)
        if req.sort is None:
            req.sort = SORT_OF_QUERY.get(saved["sort"])
    else:
        assert builtin is not None
        base = builtin.filters(actor, now)
        if req.sort is None:
            req.sort = builtin.sort
        if req.bar != SavedViewFilters():
            narrower.append(saved_views.ticket_filters(actor, req.bar))
    if req.q:
        # A search looks through every ticket the agent may see, not only this view's (in spam: the folder's).
        base = queries.TicketFilters(q=req.q, spam=base.spam)
    sort_key = req.sort or "activity"
    rows, next_cursor = queries.list_tickets(
        session, actor, base, sort=SORT_CHOICES[sort_key], limit=PAGE_SIZE, cursor=req.cursor, narrower=narrower
    )
    tickets = queries.to_reads(session, rows)
    view_counts = counts.get(session, actor, now)
    shown = view_counts.get(req.view_key, 0)
    if req.q or narrower or (saved is not None and req.filtered):
        shown = inbox.count_capped(session, actor, base, *narrower)
    agents = accounts_queries.assignable_users(session)
    return {
        "views": inbox.VIEWS,
        "saved_views": mine,
        "view": builtin,
        "saved": saved,
        "view_key": req.view_key,
        "req": req,
        "counts": view_counts,
        "shown_count": shown,
        "tickets": tickets,
        "next_url": inbox_url(req, cursor=next_cursor) if next_cursor else None,
        "sort_key": sort_key,
        "sort_urls": {key: inbox_url(req, sort=key) for key in SORT_CHOICES},
        "return_to": inbox_url(req, cursor=req.cursor),
        "bar": req.bar,
        "bar_active": req.bar != SavedViewFilters(),
        "bar_errors": req.bar_errors,
        "user_names": {user_id: name for user_id, name, _teams in agents},
        "team_names": accounts_queries.team_names(session),
        "agents": agents,
        "statuses": list(TicketStatus),
        "priorities": list(Priority),
        "channels": list(Channel),
        "plans": list(Plan),
        "may_share": may_share_views(actor),
        "share_teams": [
            (team_id, name)
            for team_id, name in accounts_queries.team_names(session).items()
            if actor.role == Role.admin or team_id in actor.team_ids
        ],
        "may_edit": saved is not None and _may_manage(actor, saved),
        "now": now,
        "cap": inbox.COUNT_CAP,
        "q": req.q or "",
        "bulk_result": _bulk_result(session, actor, req.done),
        "colleagues": presence.team_presence(session, actor, timeout_seconds=presence_timeout),
        "save_errors": {},
        "save_values": {},
        "open_form": None,
        "bulk_error": None,
    }


def _may_manage(actor: Actor, view: dict[str, Any]) -> bool:
    try:
        require_may_manage_view(
            actor, owner_user_id=view["owner_user_id"], scope=ViewScope(view["scope"]), team_id=view["team_id"]
        )
    except Forbidden:
        return False
    return True


async def _render(page: Page, req: InboxRequest, status_code: int = 200, **extra: Any) -> Response:
    assert page.signed_in is not None
    runtime = page.request.app.state.runtime
    async with unit_of_work(runtime, writes=False) as session:
        context = await run_in_threadpool(
            _inbox, session, page.signed_in.actor, runtime.inbox_counts, req, runtime.settings.presence_timeout_seconds
        )
    context.update(extra)
    return page.render("tickets/inbox.html", status_code, section="inbox", **context)


@router.get("/inbox")
async def inbox_page(page: StaffPage) -> Response:
    return await _render(page, InboxRequest.parse(page.request.query_params))


@router.get("/inbox/counts")
async def inbox_counts(page: StaffPage) -> Response:
    assert page.signed_in is not None
    runtime = page.request.app.state.runtime
    async with unit_of_work(runtime, writes=False) as session:
        counts = await run_in_threadpool(runtime.inbox_counts.get, session, page.signed_in.actor, utcnow(session))
    return JSONResponse({"counts": counts, "cap": inbox.COUNT_CAP, "max_age": inbox.COUNT_TTL_SECONDS})


def _back(return_to: str) -> InboxRequest:
    """The inbox state a form came from (only ever an /inbox address of this site)."""
    parts = urlsplit(return_to)
    if parts.scheme or parts.netloc or parts.path != "/inbox":
        return InboxRequest()
    return InboxRequest.parse(QueryParams(parts.query))


def _safe_return(return_to: str) -> str:
    req = _back(return_to)
    return inbox_url(req, cursor=req.cursor)


# Saved views: create, change, delete. The filters and sort come from the filter bar the form sits in.


def _view_input(req: InboxRequest, name: str, scope: str, team: str) -> dict[str, Any]:
    return {
        "name": name,
        "scope": scope or ViewScope.personal.value,
        "team_id": int(team) if team.isdigit() else None,
        "filters": req.bar.model_dump(mode="json", exclude_defaults=True),
        "sort": SORT_CHOICES[req.sort or "activity"],
    }


def _field_errors(page: Page, error: ValidationError | OknoError) -> dict[str, str]:
    messages = {
        "name": page.gettext("Give the view a name (up to 80 characters)."),
        "team_id": page.gettext("Choose a team to share the view with."),
        "scope": page.gettext("Only supervisors and admins may share views."),
    }
    found: dict[str, str] = {}
    if isinstance(error, ValidationError):
        for item in error.errors():
            name = str(item["loc"][0]) if item["loc"] else "form"
            found[name] = messages.get(name, page.gettext("Check the filters of this view."))
        return found
    details = error.details if isinstance(error.details, list) else []
    name = details[0].get("field", "form") if details and isinstance(details[0], dict) else "form"
    if error.code == "invalid" and name == "name" and "already" in error.message:
        found["name"] = (
            page.gettext("You already have a view with this name.")
            if "name" in error.message
            else page.gettext("You have too many views; delete one first.")
        )
    elif name in messages:
        found[name] = messages[name]
    else:
        found["form"] = page.gettext("Check the filters of this view.")
    return found


async def _save_view(page: Page, view_id: int | None, name: str, scope: str, team: str, return_to: str) -> Response:
    assert page.signed_in is not None
    actor = page.signed_in.actor
    req = _back(return_to)
    values = {"name": name, "scope": scope, "team": team}
    form = "edit" if view_id else "save"
    try:
        data = SavedViewIn.model_validate(_view_input(req, name, scope, team))
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            if view_id is None:
                view = await run_in_threadpool(saved_views.create_view, session, actor, data=data)
            else:
                view = await run_in_threadpool(saved_views.update_view, session, actor, view_id, data=data)
            key = f"saved-{view.id}"
    except (ValidationError, OknoError) as refused:
        if isinstance(refused, OknoError) and refused.status_code == 404:
            raise
        errors = _field_errors(page, refused)
        return await _render(page, req, 422, save_errors=errors, save_values=values, open_form=form)
    page.request.app.state.runtime.inbox_counts.forget(actor.user_id)
    return RedirectResponse("/inbox?" + urlencode([("view", key)]), status_code=303)


@router.post("/inbox/views")
async def create_saved_view(
    page: StaffPage,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    scope: Annotated[str, Form(max_length=20)] = "personal",
    team: Annotated[str, Form(max_length=20)] = "",
    return_to: Annotated[str, Form(max_length=4000)] = "/inbox",
) -> Response:
    check_csrf(page, csrf_token)
    return await _save_view(page, None, name, scope, team, return_to)


@router.post("/inbox/views/{view_id}")
async def update_saved_view(
    page: StaffPage,
    view_id: Id,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    scope: Annotated[str, Form(max_length=20)] = "personal",
    team: Annotated[str, Form(max_length=20)] = "",
    return_to: Annotated[str, Form(max_length=4000)] = "/inbox",
) -> Response:
    check_csrf(page, csrf_token)
    return await _save_view(page, view_id, name, scope, team, return_to)


@router.post("/inbox/views/{view_id}/delete")
async def delete_saved_view(page: StaffPage, view_id: Id, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        await run_in_threadpool(saved_views.delete_view, session, page.signed_in.actor, view_id)
    return RedirectResponse("/inbox", status_code=303)


# Bulk actions.


def _bulk_changes(actor: Actor, action: str, tag: str, add_tag: bool) -> TicketUpdate:
    if add_tag:
        return TicketUpdate.model_validate({"add_tags": [tag]})
    kind, _sep, value = action.partition(":")
    if kind == "assign":
        assignee = actor.user_id if value == "me" else (int(value) if value.isdigit() else None)
        if value not in {"me", "nobody"} and not value.isdigit():
            raise ValueError(action)
        return TicketUpdate.model_validate({"assignee_id": assignee})
    if kind == "team":
        if value != "none" and not value.isdigit():
            raise ValueError(action)
        return TicketUpdate.model_validate({"team_id": int(value) if value.isdigit() else None})
    if kind == "status":
        return TicketUpdate.model_validate({"status": value})
    raise ValueError(action)


def _encode_result(outcome: bulk.BulkOutcome) -> str:
    refused = [[r.ticket_id, r.code, r.field, r.details.get("from"), r.details.get("to")] for r in outcome.refused]
    raw = json.dumps({"ok": len(outcome.changed), "no": refused}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bulk_result(session: Session, actor: Actor, done: str | None) -> dict[str, Any] | None:
    """The outcome of a bulk action, carried back in the URL: counts and, per refused ticket, a reason code."""
    if not done:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(done + "=" * (-len(done) % 4)))
        changed = int(data["ok"])
        refused = [
            {"ticket_id": int(r[0]), "code": str(r[1]), "field": r[2], "from": r[3], "to": r[4]}
            for r in data["no"][: bulk.MAX_TICKETS]
        ]
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        return None
    # Any ticket the reader may see, the spam folder's too (a bulk "not spam" may refuse one of those).
    found = queries.ticket_titles(session, actor, {r["ticket_id"] for r in refused})
    for item in refused:
        item["number"], item["subject"] = found.get(item["ticket_id"], (None, None))
        for key in ("from", "to"):
            item[key] = item[key] if item[key] in set(TicketStatus) else None
    return {"changed": changed, "refused": refused}


@router.post("/inbox/bulk")
async def bulk_action(
    page: StaffPage,
    csrf_token: Annotated[str, Form()] = "",
    ticket_id: Annotated[list[int] | None, Form()] = None,
    action: Annotated[str, Form(max_length=40)] = "",
    tag: Annotated[str, Form(max_length=200)] = "",
    add_tag: Annotated[str, Form(max_length=10)] = "",
    return_to: Annotated[str, Form(max_length=4000)] = "/inbox",
) -> Response:
    """One change for the selected tickets, in one transaction; each ticket that refuses is reported."""
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    actor = page.signed_in.actor
    req = _back(return_to)
    spam_change = SPAM_ACTIONS.get(action) if not add_tag else None
    try:
        changes = None if spam_change else _bulk_changes(actor, action, tag, bool(add_tag))
    except ValueError:
        message = page.gettext("Write a valid tag.") if add_tag else page.gettext("Choose what to change.")
        return await _render(page, req, 422, bulk_error=message)
    if not ticket_id:
        return await _render(page, req, 422, bulk_error=page.gettext("Select at least one ticket."))

    def apply(session: Session, ids: list[int]) -> bulk.BulkOutcome:
        if spam_change is not None:
            return bulk.change_many(session, actor, ids, lambda one: spam_change(session, actor, one))
        assert changes is not None
        return bulk.update_many(session, actor, ids, changes=changes)

    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            outcome = await run_in_threadpool(apply, session, ticket_id)
    except OknoError as refused:
        return await _render(page, req, 403 if refused.status_code == 403 else 422, bulk_error=refused.message)
    page.request.app.state.runtime.inbox_counts.forget(actor.user_id)
    back = _safe_return(return_to) + "&" + urlencode([("done", _encode_result(outcome))])
    return RedirectResponse(back, status_code=303)
