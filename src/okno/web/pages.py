"""Rendering pages: the Jinja2 environment, the signed-in browser, CSRF, redirects to sign in."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from okno.accounts import presence, web_sessions
from okno.accounts.models import PresenceStatus
from okno.accounts.permissions import Actor
from okno.accounts.web_sessions import SignedIn
from okno.errors import Forbidden
from okno.http.deps import get_runtime
from okno.notifications import queries as notifications_queries
from okno.tickets.content import block_remote_images
from okno.web.admin_nav import sections_for
from okno.web.i18n import Formatter, Gettext, negotiate

SESSION_COOKIE = "okno_session"
# Before sign-in there is no session to hold a CSRF token: the form and a cookie carry the same one.
PRE_SESSION_CSRF_COOKIE = "okno_csrf"

environment = jinja2.Environment(
    loader=jinja2.PackageLoader("okno", "web/templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,
)
environment.globals["block_remote_images"] = block_remote_images
environment.globals["admin_sections"] = sections_for


class SignInRequired(Exception):
    """Raised by pages for visitors without a session; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


@dataclass(frozen=True)
class Page:
    """What every page needs: who is signed in, their language and how to format for them."""

    request: Request
    signed_in: SignedIn | None
    locale: str
    formatter: Formatter
    presence: str = "offline"
    unread_notifications: int = 0

    @property
    def actor(self) -> Actor:
        """Who is acting on a page that requires sign-in (StaffPage)."""
        assert self.signed_in is not None
        return self.signed_in.actor

    def gettext(self, message: str, **values: object) -> str:
        return Gettext(self.locale).gettext(message, **values)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return html_page(
            self.request,
            template,
            locale=self.locale,
            status_code=status_code,
            pre_session_csrf=None if self.signed_in else self.request.state.pre_session_csrf,
            signed_in=self.signed_in,
            user=self.signed_in.user if self.signed_in else None,
            csrf_token=self.signed_in.csrf_token if self.signed_in else self.request.state.pre_session_csrf,
            fmt=self.formatter,
            presence=self.presence,
            unread_notifications=self.unread_notifications,
            away_after_seconds=self.request.app.state.runtime.settings.away_after_idle_seconds,
            **context,
        )


def html_page(
    request: Request,
    template: str,
    *,
    locale: str,
    status_code: int = 200,
    referrer_policy: str = "same-origin",
    pre_session_csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A rendered page in the reader's language, never cached or framed.

    ``pre_session_csrf`` is the form token of a visitor who has no session yet: it goes into a
    cookie too, and a form is accepted only when the two agree.
    """
    words = Gettext(locale)
    html = environment.get_template(template).render(
        request=request,
        locale=locale,
        gettext=words.gettext,
        ngettext=words.ngettext,
        pgettext=words.pgettext,
        _=words.gettext,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = referrer_policy
    if pre_session_csrf is not None:
        response.set_cookie(
            PRE_SESSION_CSRF_COOKIE,
            pre_session_csrf,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def _signed_in(request: Request) -> tuple[SignedIn | None, str, int]:
    runtime = get_runtime(request)
    with runtime.db.read() as session:
        signed_in = web_sessions.resolve(session, request.cookies.get(SESSION_COOKIE))
        if signed_in is None:
            return None, PresenceStatus.offline.value, 0
        timeout = runtime.settings.presence_timeout_seconds
        status = presence.status_of(session, signed_in.user.id, timeout_seconds=timeout).value
        return signed_in, status, notifications_queries.unread_count(session, signed_in.user.id)


async def _page(request: Request) -> Page:
    signed_in, status, unread = await run_in_threadpool(_signed_in, request)
    request.state.pre_session_csrf = request.cookies.get(PRE_SESSION_CSRF_COOKIE) or secrets.token_urlsafe(32)
    if signed_in is not None:
        user = signed_in.user
        return Page(request, signed_in, user.locale, Formatter(user.locale, user.time_zone), status, unread)
    locale = negotiate(request.headers.get("accept-language"))
    return Page(request, None, locale, Formatter(locale, "UTC"))


async def _staff_page(page: Annotated[Page, Depends(_page)]) -> Page:
    if page.signed_in is None:
        path = page.request.url.path
        raise SignInRequired(path + (f"?{page.request.url.query}" if page.request.url.query else ""))
    return page


def check_csrf(page: Page, submitted: str | None) -> None:
    """State-changing requests must carry the browser's own token (form field or X-CSRF-Token)."""
    expected = page.signed_in.csrf_token if page.signed_in else page.request.cookies.get(PRE_SESSION_CSRF_COOKIE)
    token = submitted or page.request.headers.get("x-csrf-token")
    if not expected or not token or not hmac.compare_digest(expected, token):
        raise Forbidden("The form has expired or came from another site; reload the page and try again.", code="csrf")


AnyPage = Annotated[Page, Depends(_page)]
StaffPage = Annotated[Page, Depends(_staff_page)]
