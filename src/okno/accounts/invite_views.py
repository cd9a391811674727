"""The page an invited person opens: they choose a password and are signed in.

Anyone holding the link may use it (that is what a link is), once, within its week. The
rules (single use, expiry, password length) live in ``accounts.invitations``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from okno.accounts import invitations, web_sessions
from okno.errors import Conflict, Invalid
from okno.web import forms
from okno.web.pages import PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE, AnyPage

router = APIRouter(include_in_schema=False)


@router.get("/invite/{token}")
async def invitation_page(page: AnyPage, token: str) -> Response:
    found = await forms.run(page, False, invitations.check, token)
    status = 200 if found.state == invitations.LinkState.valid else 410
    return page.render("accounts/invite.html", status, invitation=found, errors={})


def _accept(session: Session, token: str, password: str, user_agent: str, old_cookie: str | None) -> str:
    user = invitations.accept(session, token=token, password=password)
    web_sessions.end(session, old_cookie)  # whoever was signed in on this browser before
    _row, cookie = web_sessions.start(session, user, remember=False, user_agent=user_agent)
    return cookie


@router.post("/invite/{token}")
async def accept_invitation(page: AnyPage, token: str) -> Response:
    form = await forms.read_form(page)
    password, repeated = form.get("password"), form.get("password_again")
    password = password if isinstance(password, str) else ""
    errors: dict[str, str] = {}
    cookie = None
    if len(password) > 200:
        errors["password"] = page.gettext("Use at most 200 characters.")
    elif password != repeated:
        errors["password_again"] = page.gettext("The two passwords differ.")
    if not errors:
        user_agent = page.request.headers.get("user-agent", "")
        try:
            cookie = await forms.run(
                page, True, _accept, token, password, user_agent, page.request.cookies.get(SESSION_COOKIE)
            )
        except Invalid:
            errors["password"] = page.gettext("Use at least 10 characters.")
        except Conflict:
            pass  # used or expired meanwhile: the page below says so
    if cookie is not None:
        response = RedirectResponse("/inbox", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=page.request.url.scheme == "https", path="/"
        )
        response.delete_cookie(PRE_SESSION_CSRF_COOKIE, path="/")
        return response
    found = await forms.run(page, False, invitations.check, token)
    status = 422 if found.state == invitations.LinkState.valid else 410
    return page.render("accounts/invite.html", status, invitation=found, errors=errors)
