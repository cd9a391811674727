"""The portal's page dependency: the signed-in customer (their own cookie), language, CSRF.

Customers have a session cookie of their own (``okno_portal_session``, sent to /portal only);
a staff session never signs anyone into the portal and a portal session never opens a staff
page (``web_sessions.resolve`` admits staff only). Visitors without a session use the
pre-session CSRF cookie of the staff sign-in page.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from okno.accounts import web_sessions
from okno.accounts.web_sessions import SignedIn
from okno.errors import Forbidden
from okno.http.deps import get_runtime, unit_of_work
from okno.web.i18n import LOCALES, Formatter, Gettext, negotiate
from okno.web.pages import PRE_SESSION_CSRF_COOKIE, html_page

PORTAL_COOKIE = "okno_portal_session"
LOCALE_COOKIE = "okno_portal_locale"
T = TypeVar("T")


class PortalSignInRequired(Exception):
    """A portal page for a visitor without a portal session: answered with the sign-in page."""


@dataclass(frozen=True)
class PortalPage:
    request: Request
    customer: SignedIn | None
    locale: str
    formatter: Formatter
    csrf_token: str

    def gettext(self, message: str, **values: object) -> str:
        return Gettext(self.locale).gettext(message, **values)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return html_page(
            self.request,
            template,
            locale=self.locale,
            status_code=status_code,
            # The sign-in link is in the address bar: never send it on to another site.
            referrer_policy="no-referrer",
            pre_session_csrf=None if self.customer else self.csrf_token,
            customer=self.customer,
            csrf_token=self.csrf_token,
            locales=LOCALES,
            fmt=self.formatter,
            **context,
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _resolve(request: Request) -> SignedIn | None:
    with get_runtime(request).db.read() as session:
        return web_sessions.resolve_customer(session, request.cookies.get(PORTAL_COOKIE))


async def _portal_page(request: Request) -> PortalPage:
    customer = await run_in_threadpool(_resolve, request)
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        locale = str(chosen)
    elif customer is not None and customer.user.locale in LOCALES:
        locale = customer.user.locale
    else:
        locale = negotiate(request.headers.get("accept-language"))
    if customer is not None:
        csrf = customer.csrf_token
    else:
        csrf = request.cookies.get(PRE_SESSION_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return PortalPage(request, customer, locale, Formatter(locale, "UTC"), csrf)


async def _customer_page(page: Annotated[PortalPage, Depends(_portal_page)]) -> PortalPage:
    if page.customer is None:
        raise PortalSignInRequired()
    return page


def check_csrf(page: PortalPage, submitted: str | None) -> None:
    expected = page.customer.csrf_token if page.customer else page.request.cookies.get(PRE_SESSION_CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden("The form has expired or came from another site; reload the page and try again.", code="csrf")


VisitorPage = Annotated[PortalPage, Depends(_portal_page)]
CustomerPage = Annotated[PortalPage, Depends(_customer_page)]


async def run(page: PortalPage, writes: bool, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(session, *args, **kwargs)`` in one transaction: committed when it returns, rolled back if it raises."""
    async with unit_of_work(page.request.app.state.runtime, writes=writes) as session:
        return await run_in_threadpool(work, session, *args, **kwargs)
