"""Pages for signing in and out and for one's own account."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import presence, web_sessions
from okno.accounts import service as accounts_service
from okno.accounts.models import PresenceStatus, Role
from okno.accounts.schemas import UserUpdate
from okno.errors import Invalid, RateLimited, Unauthorized
from okno.http.deps import unit_of_work
from okno.runtime import Runtime
from okno.web.i18n import LOCALES
from okno.web.pages import PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE, AnyPage, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
TIME_ZONES = sorted(available_timezones() - {"Factory", "localtime"})


def safe_next(target: str | None) -> str:
    """Only paths on this site, never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


@router.get("/sign-in")
async def sign_in_form(page: AnyPage, next: str | None = None) -> Response:
    if page.signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page.render("accounts/sign_in.html", next=safe_next(next), email="", error=None)


def _start_session(
    session: Session, runtime: Runtime, *, email: str, password: str, client: str, remember: bool, user_agent: str
) -> str:
    settings = runtime.settings
    user = accounts_service.login(
        session,
        email=email,
        password=password,
        client=client,
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_seconds,
    )
    if user.role == Role.customer:
        raise Unauthorized("Wrong email or password.")  # customers use the portal, not the workspace
    _row, token = web_sessions.start(session, user, remember=remember, user_agent=user_agent)
    return token


@router.post("/sign-in")
async def sign_in(
    page: AnyPage,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
    remember: Annotated[bool, Form()] = False,
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    check_csrf(page, csrf_token)
    runtime: Runtime = page.request.app.state.runtime
    client = page.request.client.host if page.request.client else "unknown"
    user_agent = page.request.headers.get("user-agent", "")
    try:
        async with unit_of_work(runtime, writes=True) as session:
            token = await run_in_threadpool(
                _start_session,
                session,
                runtime,
                email=email,
                password=password,
                client=client,
                remember=remember,
                user_agent=user_agent,
            )
    except Unauthorized:
        # Its own transaction: the failed attempt counts although this request fails.
        async with unit_of_work(runtime, writes=True) as session:
            await run_in_threadpool(accounts_service.record_login_failure, session, email=email, client=client)
        error = page.gettext("Wrong email or password.")
        return page.render("accounts/sign_in.html", 401, next=safe_next(next), email=email, error=error)
    except RateLimited:
        error = page.gettext("Too many failed attempts. Wait a few minutes and try again.")
        return page.render("accounts/sign_in.html", 429, next=safe_next(next), email=email, error=error)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=page.request.url.scheme == "https",
        path="/",
        max_age=int(web_sessions.REMEMBERED.total_seconds()) if remember else None,
    )
    response.delete_cookie(PRE_SESSION_CSRF_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(page: StaffPage, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(page, csrf_token)
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        await run_in_threadpool(web_sessions.end, session, page.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
async def account(page: StaffPage, saved: bool = False) -> Response:
    return page.render(
        "accounts/account.html", locales=LOCALES, time_zones=TIME_ZONES, errors={}, saved=saved, password_changed=False
    )


@router.post("/account")
async def update_account(
    page: StaffPage,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    locale: Annotated[str, Form()],
    time_zone: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    errors = {}
    if locale not in LOCALES:
        errors["locale"] = page.gettext("Choose one of the offered languages.")
    if time_zone not in TIME_ZONES:
        errors["time_zone"] = page.gettext("Choose a time zone from the list.")
    if errors:
        return page.render(
            "accounts/account.html",
            422,
            locales=LOCALES,
            time_zones=TIME_ZONES,
            errors=errors,
            saved=False,
            password_changed=False,
        )
    changes = UserUpdate(name=name, locale=locale, time_zone=time_zone)
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        signed_in = page.signed_in
        await run_in_threadpool(
            accounts_service.update_user, session, signed_in.actor, signed_in.user.id, changes=changes
        )
    return RedirectResponse("/account?saved=1", status_code=303)


@router.post("/account/password")
async def change_password(
    page: StaffPage,
    current_password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(
                web_sessions.change_password, session, page.signed_in, current=current_password, new=new_password
            )
    except Invalid as error:
        field = error.details[0]["field"] if error.details else "new_password"
        messages = {
            "current_password": page.gettext("The current password is not right."),
            "new_password": page.gettext("Use at least 10 characters, different from the current password."),
        }
        return page.render(
            "accounts/account.html",
            422,
            locales=LOCALES,
            time_zones=TIME_ZONES,
            errors={field: messages[field]},
            saved=False,
            password_changed=False,
        )
    return page.render(
        "accounts/account.html", locales=LOCALES, time_zones=TIME_ZONES, errors={}, saved=False, password_changed=True
    )


@router.post("/presence")
async def choose_presence(
    page: StaffPage,
    status: Annotated[PresenceStatus, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        await run_in_threadpool(presence.set_status, session, page.signed_in.actor, status)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/presence/heartbeat")
async def heartbeat(page: StaffPage, idle: Annotated[bool, Form()] = False) -> Response:
    """Sent by open pages every half minute, with the CSRF token in the X-CSRF-Token header."""
    check_csrf(page, None)
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        status = await run_in_threadpool(presence.heartbeat, session, page.signed_in.actor, idle=idle)
    return JSONResponse({"status": status.value})
