"""The agent workspace's ticket pages: the inbox and the ticket with its conversation."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import presence
from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.automation.macros import service as macros_service
from okno.customers import service as customers_service
from okno.db import utcnow
from okno.errors import Conflict, OknoError
from okno.http.deps import unit_of_work
from okno.tickets import access, inbox, queries, service
from okno.tickets import changes as ticket_changes
from okno.tickets.models import MessageKind, Priority, TicketStatus
from okno.tickets.schemas import MessageCreate, TicketUpdate
from okno.web.pages import StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


def _inbox(
    session: Session,
    actor: Actor,
    counts: inbox.CountCache,
    view_key: str,
    cursor: str | None,
    q: str | None,
    presence_timeout: int,
) -> dict[str, Any]:
    view = inbox.BY_KEY.get(view_key, inbox.VIEWS[0])
    now = utcnow(session)
    filters = view.filters(actor, now)
    if q:
        # A search looks through every ticket the agent may see, not only this view's.
        filters = queries.TicketFilters(q=q)
    rows, next_cursor = queries.list_tickets(session, actor, filters, limit=PAGE_SIZE, cursor=cursor)
    tickets = queries.to_reads(session, rows)
    return {
        "views": inbox.VIEWS,
        "view": view,
        "counts": counts.get(session, actor, now),
        "tickets": tickets,
        "next_cursor": next_cursor,
        "user_names": accounts_queries.user_names(session, {t.assignee_id for t in tickets if t.assignee_id}),
        "team_names": accounts_queries.team_names(session),
        "now": now,
        "cap": inbox.COUNT_CAP,
        "q": q or "",
        "colleagues": presence.team_presence(session, actor, timeout_seconds=presence_timeout),
    }


@router.get("/inbox")
async def inbox_page(page: StaffPage, view: str = "mine", cursor: str | None = None, q: str | None = None) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        runtime = page.request.app.state.runtime
        context = await run_in_threadpool(
            _inbox,
            session,
            page.signed_in.actor,
            runtime.inbox_counts,
            view,
            cursor,
            (q or "").strip()[:200] or None,
            runtime.settings.presence_timeout_seconds,
        )
    return page.render("tickets/inbox.html", section="inbox", **context)


def _ticket(session: Session, actor: Actor, ticket_id: int) -> dict[str, Any]:
    ticket = access.get_ticket(session, actor, ticket_id)
    read = queries.to_reads(session, [ticket])[0]
    messages = queries.list_messages(session, actor, ticket, after_id=None, limit=500)
    events = queries.list_events(session, actor, ticket, after_id=None, limit=1000)
    timeline: list[tuple[Any, str, Any]] = [(m.created_at, "message", queries.message_read(m)) for m in messages]
    timeline += [(e.occurred_at, "event", e) for e in events if e.kind not in queries.EVENTS_SHOWN_AS_MESSAGES]
    timeline.sort(key=lambda item: item[0])
    people = {m.author_user_id for m in messages if m.author_user_id} | {read.assignee_id or 0}
    people |= {e.actor_id for e in events if e.actor_type == "user" and e.actor_id}
    for e in events:
        if e.kind == "assigned":
            people |= {e.data.get("old") or 0, e.data.get("new") or 0}
    customer = customers_service.get_customer(session, actor, ticket.customer_id)
    return {
        "ticket": read,
        "timeline": timeline,
        "customer": customers_service.to_read(customer),
        "user_names": accounts_queries.user_names(session, people - {0}),
        "team_names": accounts_queries.team_names(session),
        "statuses": [s.value for s in TicketStatus if s != TicketStatus.new],
        "priorities": [p.value for p in Priority],
        "agents": accounts_queries.assignable_users(session),
        "now": utcnow(session),
        "seen_message_id": max((m.id for m in messages), default=0),
        "macro_titles": macros_service.titles(
            session, actor, {e.data["macro_id"] for e in events if e.kind == "macro_applied"}
        ),
    }


@router.get("/tickets/{ticket_id}")
async def ticket_page(page: StaffPage, ticket_id: int, error: str | None = None) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_ticket, session, page.signed_in.actor, ticket_id)
    return page.render("tickets/ticket.html", section="inbox", error=error, draft="", draft_kind="reply", **context)


@router.post("/tickets/{ticket_id}/messages")
async def post_message(
    page: StaffPage,
    ticket_id: int,
    body: Annotated[str, Form(max_length=200_000)] = "",
    kind: Annotated[str, Form()] = "reply",
    status: Annotated[str, Form()] = "",
    seen_message_id: Annotated[int | None, Form()] = None,
    csrf_token: Annotated[str, Form()] = "",
    macro_id: Annotated[str, Form(description="a macro chosen in the picker: its actions go with the message")] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    actor = page.signed_in.actor
    try:
        data = MessageCreate.model_validate(
            {
                "body": body,
                "kind": kind,
                "seen_message_id": seen_message_id,
                **({"status": status} if status and kind == MessageKind.reply else {}),
            }
        )
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            if macro_id.isdigit():
                send = functools.partial(macros_service.post_with_macro, macro_id=int(macro_id), message=data)
                posted = await run_in_threadpool(send, session, actor, ticket_id=ticket_id)
            else:
                posted = await run_in_threadpool(service.add_message, session, actor, ticket_id, data=data)
    except ValidationError:
        return await _show_error(page, ticket_id, page.gettext("Write a message first."))
    except Conflict as conflict:
        if conflict.code == "replied_meanwhile":
            warning = page.gettext(
                "A colleague replied while you were writing. Read their answer; send again to post yours."
            )
            return await _show_error(page, ticket_id, warning, draft=body, draft_kind=kind)
        return await _show_error(page, ticket_id, conflict.message)
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        return await _show_error(page, ticket_id, refused.message)
    return RedirectResponse(f"/tickets/{posted.ticket.id}#message-{posted.message.id}", status_code=303)


async def _show_error(
    page: StaffPage, ticket_id: int, message: str, *, draft: str = "", draft_kind: str = "reply"
) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_ticket, session, page.signed_in.actor, ticket_id)
    return page.render(
        "tickets/ticket.html", 422, section="inbox", error=message, draft=draft, draft_kind=draft_kind, **context
    )


@router.get("/tickets/{ticket_id}/timeline")
async def timeline_fragment(page: StaffPage, ticket_id: int) -> Response:
    """The conversation alone, for live pages to refresh in place (the reply draft stays untouched)."""
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_ticket, session, page.signed_in.actor, ticket_id)
    return page.render("tickets/_timeline.html", **context)


@router.get("/inbox/counts")
async def inbox_counts(page: StaffPage) -> Response:
    assert page.signed_in is not None
    runtime = page.request.app.state.runtime
    async with unit_of_work(runtime, writes=False) as session:
        counts = await run_in_threadpool(runtime.inbox_counts.get, session, page.signed_in.actor, utcnow(session))
    return JSONResponse({"counts": counts, "cap": inbox.COUNT_CAP})


@router.post("/tickets/{ticket_id}/properties")
async def update_properties(
    page: StaffPage,
    ticket_id: int,
    csrf_token: Annotated[str, Form()] = "",
    status: Annotated[str | None, Form()] = None,
    priority: Annotated[str | None, Form()] = None,
    assignee: Annotated[str | None, Form(description="a user id, 'me', or empty for nobody")] = None,
    team: Annotated[str | None, Form()] = None,
) -> Response:
    """Status, priority, owner and team changed in place (also the a and s keyboard shortcuts)."""
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    actor = page.signed_in.actor
    changes: dict[str, Any] = {}
    if status:
        changes["status"] = status
    if priority:
        changes["priority"] = priority
    if assignee is not None:
        changes["assignee_id"] = actor.user_id if assignee == "me" else (int(assignee) if assignee.isdigit() else None)
    if team is not None:
        changes["team_id"] = int(team) if team.isdigit() else None
    try:
        update = TicketUpdate.model_validate(changes)
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(ticket_changes.update_ticket, session, actor, ticket_id, changes=update)
    except ValidationError:
        return await _show_error(page, ticket_id, page.gettext("That value is not allowed here."))
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        return await _show_error(page, ticket_id, refused.message)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
