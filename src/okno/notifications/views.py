"""The notifications page, the bell's unread count, and opening one (which marks it read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.automation.rules import queries as rules_queries
from okno.http.deps import unit_of_work
from okno.notifications import queries, service
from okno.schemas import Id
from okno.tickets import queries as tickets_queries
from okno.web.pages import StaffPage, check_csrf

router = APIRouter(include_in_schema=False)


def _listing(session: Session, actor: Actor, before_id: int | None) -> dict[str, Any]:
    rows = service.list_for(session, actor, before_id=before_id, limit=service.PAGE_SIZE + 1)
    more = len(rows) > service.PAGE_SIZE
    rows = rows[: service.PAGE_SIZE]
    return {
        "notifications": rows,
        # Tickets the reader can no longer open are listed without their subject.
        "titles": tickets_queries.ticket_titles(session, actor, {n.ticket_id for n in rows}),
        "user_names": accounts_queries.user_names(session, {n.actor_user_id for n in rows if n.actor_user_id}),
        "rule_names": rules_queries.names(session, {n.rule_id for n in rows if n.rule_id}),
        "next_before": rows[-1].id if more and rows else None,
    }


@router.get("/notifications")
async def notifications_page(page: StaffPage, before: Id | None = None) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_listing, session, page.signed_in.actor, before)
    return page.render("notifications/list.html", section="notifications", **context)


@router.get("/notifications/unread")
async def unread(page: StaffPage) -> Response:
    """For the bell: pages ask when a live event mentions their user."""
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        count = await run_in_threadpool(queries.unread_count, session, page.signed_in.user.id)
    return JSONResponse({"unread": count, "cap": queries.UNREAD_CAP}, headers={"Cache-Control": "no-store"})


def _open(session: Session, actor: Actor, notification_id: int) -> str:
    row = service.open_notification(session, actor, notification_id)
    # The note may have moved since (merged into another ticket): follow it there.
    ticket_id = tickets_queries.message_ticket_id(session, actor, row.message_id) if row.message_id else None
    ticket_id = ticket_id or row.ticket_id
    return f"/tickets/{ticket_id}" + (f"#message-{row.message_id}" if row.message_id else "")


@router.get("/notifications/{notification_id}")
async def open_one(page: StaffPage, notification_id: Id) -> Response:
    """Opening a notification marks it read and lands on the message it is about.

    A GET that writes: only ever the reader's own read mark, so a forged link can do no harm.
    """
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        target = await run_in_threadpool(_open, session, page.signed_in.actor, notification_id)
    return RedirectResponse(target, status_code=303)


@router.post("/notifications/read")
async def mark_all_read(page: StaffPage, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        await run_in_threadpool(service.mark_all_read, session, page.signed_in.actor)
    return RedirectResponse("/notifications", status_code=303)
