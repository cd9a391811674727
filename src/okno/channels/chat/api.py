"""The widget's HTTP side: visitors, email confirmation, transcripts, and the script itself.

Called by ``widget.js`` from pages of other sites. Every answer carries CORS headers for the
page's origin only when it is on the widget's allow-list (errors too, so the script can read
them), and ``Vary: Origin``; a request from any other origin, or without one, is refused. The
visitor's token travels in ``Authorization: Bearer``, never in a cookie. Bad input changes
nothing: each call is one unit of work, rolled back on any error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.channels.chat import mail, service, visitors
from okno.channels.chat.schemas import (
    EmailCodeConfirm,
    EmailCodeRequest,
    SignedIdentity,
    TranscriptRequest,
    VisitorCreate,
)
from okno.channels.widget import service as widget_service
from okno.channels.widget.service import WidgetSettings
from okno.errors import Forbidden, Invalid, OknoError, okno_error_response
from okno.http.deps import get_runtime, unit_of_work
from okno.schemas import Id

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
PREFLIGHT_MAX_AGE = 600
SCRIPT_MAX_AGE = 300


def _cors(response: Response, origin: str | None, allowed: bool) -> Response:
    response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "no-store"
    if allowed and origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def _widget(session: Session, key: str, origin: str | None) -> WidgetSettings:
    widget = widget_service.settings_by_key(session, key)
    if not widget_service.origin_allowed(widget, origin):
        raise Forbidden("This site is not allowed to use the chat widget.", code="origin_not_allowed")
    return widget


def _token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _body(request: Request, model: type[M]) -> M:
    try:
        raw = await request.json()
    except ValueError:
        raw = {}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        raise Invalid(str(first["msg"]), field=".".join(str(p) for p in first["loc"]) or None) from None


async def _call(
    request: Request, key: str, work: Callable[[Session, WidgetSettings], T], answer: Callable[[T], Response]
) -> Response:
    """Runs ``work`` in one write unit of work for an allowed page; errors become JSON with CORS."""
    origin = request.headers.get("origin")
    runtime = get_runtime(request)
    allowed = False
    try:
        async with unit_of_work(runtime, writes=True) as session:

            def run() -> T:
                nonlocal allowed
                widget = _widget(session, key, origin)
                allowed = True
                return work(session, widget)

            result = await run_in_threadpool(run)
    except OknoError as exc:
        return _cors(okno_error_response(exc), origin, allowed)
    return _cors(answer(result), origin, allowed)


def _preflight(request: Request, key: str) -> Response:
    origin = request.headers.get("origin")
    with get_runtime(request).db.read() as session:
        try:
            _widget(session, key, origin)
        except OknoError as exc:
            return _cors(okno_error_response(exc), origin, False)
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "authorization, content-type"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return _cors(response, origin, True)


@router.options("/widget/{key}/visitors")
@router.options("/widget/{key}/visitors/me/{action:path}")
@router.options("/widget/{key}/conversations/{conversation_id}/transcript")
def preflight(request: Request, key: str) -> Response:
    return _preflight(request, key)


@router.post("/widget/{key}/visitors")
async def create_visitor(request: Request, key: str) -> Response:
    """A new visitor: ``{"token", "visitor"}``; the widget keeps the token in ``localStorage``."""
    data = await _body(request, VisitorCreate)
    identity = (data.identity.email, data.identity.name, data.identity.signature) if data.identity else None

    def work(session: Session, widget: WidgetSettings) -> tuple[visitors.Visitor, str]:
        return visitors.create(session, widget, client=_client(request), name=data.name, identity=identity)

    def answer(result: tuple[visitors.Visitor, str]) -> Response:
        visitor, token = result
        return JSONResponse({"token": token, "visitor": visitor.public()}, status_code=201)

    return await _call(request, key, work, answer)


def _visitor_answer(visitor: visitors.Visitor) -> Response:
    return JSONResponse({"visitor": visitor.public()})


@router.post("/widget/{key}/visitors/me/identity")
async def prove_identity(request: Request, key: str) -> Response:
    """The site's signed identity for a visitor who already has a token (they signed in on the site)."""
    data = await _body(request, SignedIdentity)

    def work(session: Session, widget: WidgetSettings) -> visitors.Visitor:
        row = visitors.row_by_token(session, widget, _token(request), for_update=True)
        return visitors.prove_identity(session, widget, row, email=data.email, name=data.name, signature=data.signature)

    return await _call(request, key, work, _visitor_answer)


@router.post("/widget/{key}/visitors/me/email-code")
async def request_code(request: Request, key: str) -> Response:
    """Mails a confirmation code; the answer is the same for any address (``202``)."""
    data = await _body(request, EmailCodeRequest)

    def work(session: Session, widget: WidgetSettings) -> None:
        row = visitors.row_by_token(session, widget, _token(request), for_update=True)
        visitors.request_code(session, row, email=str(data.email), client=_client(request), locale=data.locale)

    return await _call(request, key, work, lambda _none: JSONResponse({"status": "sent"}, status_code=202))


@router.post("/widget/{key}/visitors/me/email-code/confirm")
async def confirm_code(request: Request, key: str) -> Response:
    data = await _body(request, EmailCodeConfirm)

    def work(session: Session, widget: WidgetSettings) -> visitors.Visitor | None:
        row = visitors.row_by_token(session, widget, _token(request), for_update=True)
        # A wrong code counts as an attempt: it commits, and the answer says it was wrong.
        return visitors.confirm_code(session, row, code=data.code)

    def answer(visitor: visitors.Visitor | None) -> Response:
        if visitor is None:
            wrong = Invalid("The code is wrong or has expired; ask for a new one.", field="code", code="wrong_code")
            return okno_error_response(wrong)
        return _visitor_answer(visitor)

    return await _call(request, key, work, answer)


@router.post("/widget/{key}/conversations/{conversation_id}/transcript")
async def request_transcript(request: Request, key: str, conversation_id: Id) -> Response:
    data = await _body(request, TranscriptRequest)

    def work(session: Session, widget: WidgetSettings) -> str:
        row = visitors.row_by_token(session, widget, _token(request), for_update=True)
        visitor = visitors.by_token(session, widget, _token(request))
        if conversation_id not in service.visible_ticket_ids(session, visitor):
            raise Invalid("No such conversation.", field="conversation_id", code="unknown_conversation")
        email = str(data.email) if data.email else None
        return mail.queue_transcript(
            session, row, ticket_id=conversation_id, email=email, client=_client(request), locale=data.locale
        )

    return await _call(request, key, work, lambda email: JSONResponse({"email": email}, status_code=202))


def _script() -> tuple[bytes, str]:
    data = resources.files("okno").joinpath("web/static/widget.js").read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@router.get("/widget.js")
def widget_script(request: Request) -> Response:
    """The embeddable script, for any site: ``<script src=".../widget.js" data-widget="KEY" async>``."""
    data, etag = _script()
    headers: dict[str, Any] = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={SCRIPT_MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="text/javascript; charset=utf-8", headers=headers)
