"""Errors on pages: a sign-in redirect for visitors, and readable pages instead of JSON for people."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from okno.errors import (
    UNSTORABLE_VALUES,
    OknoError,
    http_error_response,
    note_unstorable_value,
    okno_error_response,
    unstorable_value_response,
    validation_error_response,
)
from okno.web.i18n import Gettext, negotiate
from okno.web.pages import SignInRequired, environment


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _error_page(request: Request, status_code: int, message: str | None = None) -> HTMLResponse:
    """``message`` None: the page says what the status means, in the reader's language."""
    locale = negotiate(request.headers.get("accept-language"))
    words = Gettext(locale)
    html = environment.get_template("error.html").render(
        status_code=status_code,
        message=message,
        gettext=words.gettext,
        ngettext=words.ngettext,
        _=words.gettext,
        locale=locale,
        # Customers on the portal and the public form never go to the agents' inbox.
        for_customers=request.url.path.startswith(("/portal", "/support")),
    )
    return HTMLResponse(html, status_code=status_code)


def install_page_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(OknoError)
    async def _okno_error(request: Request, exc: OknoError) -> Response:
        if _wants_page(request):
            return _error_page(request, exc.status_code, exc.message)
        return okno_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _wants_page(request):
            return validation_error_response(exc)
        # A page address with a malformed id (/tickets/abc) names no page; bad form or query input
        # that the page did not check itself is the reader's request gone wrong.
        in_path = all(err.get("loc", ("",))[0] == "path" for err in exc.errors())
        return _error_page(request, 404 if in_path else 422)

    async def _unstorable(request: Request, exc: Exception) -> Response:
        if not _wants_page(request):
            return unstorable_value_response(request, exc)
        note_unstorable_value(request, exc)
        return _error_page(request, 422)

    for kind in UNSTORABLE_VALUES:
        app.add_exception_handler(kind, _unstorable)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_page(request):
            return _error_page(request, exc.status_code, str(exc.detail))
        return http_error_response(exc)
