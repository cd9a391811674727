"""The customer portal's pages: sign in by a mailed link, my requests, one request, reply, close.

Every ticket is looked up through ``accounts.permissions.visible_tickets`` (via the tickets
services and queries) with the customer's own actor, so another customer's ticket answers 404.
Customers see the public conversation only: their messages and agents' replies, never notes
or internal events.
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts import web_sessions
from okno.accounts.permissions import Actor
from okno.channels.portal import service, uploads
from okno.channels.portal.pages import (
    LOCALE_COOKIE,
    PORTAL_COOKIE,
    CustomerPage,
    PortalPage,
    PortalSignInRequired,
    VisitorPage,
    check_csrf,
    client_address,
    run,
)
from okno.crypto import Sealer
from okno.customers import queries as customers_queries
from okno.errors import RateLimited
from okno.runtime import Runtime
from okno.schemas import Id
from okno.tickets import attachments, changes
from okno.tickets import queries as tickets_queries
from okno.tickets.access import get_ticket
from okno.tickets.lifecycle import CUSTOMER_TARGETS
from okno.tickets.models import MessageKind, TicketStatus
from okno.tickets.queries import TicketFilters
from okno.tickets.schemas import TicketUpdate
from okno.web.i18n import LOCALES

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def install(app: FastAPI) -> None:
    @app.exception_handler(PortalSignInRequired)
    async def _sign_in(request: Request, exc: PortalSignInRequired) -> Response:
        return RedirectResponse("/portal/sign-in", status_code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/portal"


@router.get("/portal/language")
async def choose_language(to: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if to in LOCALES:
        response.set_cookie(LOCALE_COOKIE, to, max_age=365 * 24 * 3600, samesite="lax", path="/", httponly=True)
    return response


# Signing in -----------------------------------------------------------------------------------


@router.get("/portal/sign-in")
async def sign_in_form(page: VisitorPage) -> Response:
    if page.customer is not None:
        return RedirectResponse("/portal", status_code=303)
    return page.render("portal/sign_in.html", email="", error=None)


@router.post("/portal/sign-in")
async def ask_for_link(page: VisitorPage) -> Response:
    form = await page.request.form()
    token = form.get("csrf_token")
    check_csrf(page, token if isinstance(token, str) else None)
    raw = form.get("email")
    email = raw.strip() if isinstance(raw, str) else ""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        error = page.gettext("Enter a valid email address.")
        return page.render("portal/sign_in.html", 422, email=email[:320], error=error)
    runtime: Runtime = page.request.app.state.runtime
    sealer = Sealer(runtime.settings.resolved_secret_key(), purpose=service.LINK_SEAL_PURPOSE)
    try:
        await run(
            page, True, service.request_link, email=email, client=client_address(page.request), locale=page.locale,
            sealer=sealer,
        )  # fmt: skip
    except RateLimited:
        message = page.gettext("Too many sign-in links were asked for. Please wait a quarter of an hour and try again.")
        return page.render("portal/limited.html", 429, message=message)
    return page.render("portal/link_sent.html", email=email)


@router.get("/portal/sign-in/{token}")
async def confirm_link(page: VisitorPage, token: str) -> Response:
    """A page with a button, not a sign-in: mail scanners that open links must not spend them."""
    usable = await run(page, False, service.link_is_usable, token[:100])
    if not usable:
        return page.render("portal/link_invalid.html", 410)
    return page.render("portal/confirm.html", token=token)


@router.post("/portal/sign-in/{token}")
async def sign_in_with_link(page: VisitorPage, token: str) -> Response:
    form = await page.request.form()
    submitted = form.get("csrf_token")
    check_csrf(page, submitted if isinstance(submitted, str) else None)
    user_agent = page.request.headers.get("user-agent", "")
    cookie = await run(page, True, service.sign_in, token=token[:100], user_agent=user_agent, locale=page.locale)
    if cookie is None:
        return page.render("portal/link_invalid.html", 410)
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(
        PORTAL_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=page.request.url.scheme == "https",
        path="/portal",
        max_age=int(web_sessions.REMEMBERED.total_seconds()),
    )
    return response


@router.post("/portal/sign-out")
async def sign_out(page: CustomerPage) -> Response:
    form = await page.request.form()
    submitted = form.get("csrf_token")
    check_csrf(page, submitted if isinstance(submitted, str) else None)
    await run(page, True, web_sessions.end, page.request.cookies.get(PORTAL_COOKIE))
    response = RedirectResponse("/portal/sign-in", status_code=303)
    response.delete_cookie(PORTAL_COOKIE, path="/portal")
    return response


# My requests ----------------------------------------------------------------------------------


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    tickets, _next = tickets_queries.list_tickets(session, actor, TicketFilters(), limit=PAGE_SIZE)
    people = customers_queries.summaries(session, {t.customer_id for t in tickets})
    rows = [
        {
            "id": t.id,
            "number": t.number,
            "subject": t.subject,
            "status": t.status,
            "updated_at": t.last_activity_at,
            "own": t.customer_id == actor.customer_id,
            "from": people.get(t.customer_id, ("", None))[0] or people.get(t.customer_id, ("", ""))[1] or "",
        }
        for t in tickets
    ]
    return {"tickets": rows}


@router.get("/portal")
async def my_requests(page: CustomerPage) -> Response:
    assert page.customer is not None
    context = await run(page, False, _list, page.customer.actor)
    return page.render("portal/requests.html", section="requests", **context)


def _ticket(session: Session, actor: Actor, ticket_id: int) -> dict[str, Any]:
    ticket = get_ticket(session, actor, ticket_id)
    messages = [
        m
        for m in tickets_queries.list_messages(session, actor, ticket, after_id=None, limit=1000)
        if m.kind in (MessageKind.inbound, MessageKind.reply)
    ]
    agents = accounts_queries.user_names(session, {m.author_user_id for m in messages if m.author_user_id})
    people = customers_queries.summaries(session, {m.author_customer_id for m in messages if m.author_customer_id})
    conversation = []
    for m in messages:
        if m.kind == MessageKind.reply:
            author = agents.get(m.author_user_id or 0) or ""
            mine = False
        else:
            mine = m.author_customer_id == actor.customer_id
            name, address = people.get(m.author_customer_id or 0, ("", None))
            author = name or address or ""
        conversation.append(
            {
                "id": m.id,
                "kind": m.kind,
                "mine": mine,
                "author": author,
                "body_html": m.body_html,
                "created_at": m.created_at,
                "attachments": [tickets_queries.attachment_read(a) for a in m.attachments],
            }
        )
    return {
        "ticket": {
            "id": ticket.id,
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "created_at": ticket.created_at,
            "merged_into_id": ticket.merged_into_id,
            "may_close": TicketStatus(ticket.status) not in CUSTOMER_TARGETS | {TicketStatus.closed}
            and ticket.merged_into_id is None,
        },
        "conversation": conversation,
    }


async def _render_ticket(
    page: PortalPage, ticket_id: int, *, status_code: int = 200, errors: dict[str, str] | None = None,
    message: str = "", notice: str | None = None,
) -> Response:  # fmt: skip
    assert page.customer is not None
    context = await run(page, False, _ticket, page.customer.actor, ticket_id)
    runtime: Runtime = page.request.app.state.runtime
    return page.render(
        "portal/request.html", status_code, section="requests", errors=errors or {}, message=message, notice=notice,
        max_files=service.MAX_FILES, size_limit=page.formatter.size(runtime.settings.max_attachment_bytes), **context,
    )  # fmt: skip


@router.get("/portal/requests/{ticket_id}")
async def request_page(page: CustomerPage, ticket_id: Id, sent: int = 0, closed: int = 0) -> Response:
    notice = None
    if sent:
        notice = page.gettext("Thank you. We have your message and will answer here.")
    elif closed:
        notice = page.gettext("The request is closed. Write here any time if you need us again.")
    return await _render_ticket(page, ticket_id, notice=notice)


@router.post("/portal/requests/{ticket_id}/reply")
async def reply(page: CustomerPage, ticket_id: Id) -> Response:
    assert page.customer is not None
    posted = await uploads.read(page, ("message",))
    errors: dict[str, str] = {}
    text = posted.values["message"]
    if not text and not posted.files:
        errors["message"] = page.gettext("Write your message.")
    elif len(text) > 50_000:
        errors["message"] = page.gettext("Your message is too long (at most 50,000 characters).")
    stored = await uploads.store(page, posted.files, errors) if not errors else []
    if errors:
        return await _render_ticket(page, ticket_id, status_code=422, errors=errors, message=text)
    actor = page.customer.actor
    target = await run(
        page, True, lambda session: service.reply(session, actor, ticket_id, message=text, uploads=stored).id
    )
    return RedirectResponse(f"/portal/requests/{target}?sent=1#message-form", status_code=303)


def _close(session: Session, actor: Actor, ticket_id: int) -> None:
    ticket = get_ticket(session, actor, ticket_id)
    if TicketStatus(ticket.status) in CUSTOMER_TARGETS | {TicketStatus.closed}:
        return  # closed already (a second click, another tab)
    changes.update_ticket(session, actor, ticket_id, changes=TicketUpdate(status=TicketStatus.solved))


@router.post("/portal/requests/{ticket_id}/close")
async def close(page: CustomerPage, ticket_id: Id) -> Response:
    assert page.customer is not None
    form = await page.request.form()
    submitted = form.get("csrf_token")
    check_csrf(page, submitted if isinstance(submitted, str) else None)
    await run(page, True, _close, page.customer.actor, ticket_id)
    return RedirectResponse(f"/portal/requests/{ticket_id}?closed=1", status_code=303)


@router.get("/portal/attachments/{attachment_id}")
async def download(page: CustomerPage, attachment_id: str) -> FileResponse:
    assert page.customer is not None
    runtime: Runtime = page.request.app.state.runtime
    row, path = await run(
        page, False, attachments.for_download, page.customer.actor, runtime.storage, attachment_id[:100]
    )
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=row.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )
