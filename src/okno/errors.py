"""Domain errors and their single mapping to HTTP.

Services raise these; they carry their own code and status, so an expected conflict
is a 409 with a readable body and never looks like a crash. Every error body has the
shape ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class OknoError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details if details is not None else {}


class Invalid(OknoError):
    """Input that is well-formed JSON but breaks a rule; ``details`` names the field."""

    status_code = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        details = [{"field": field, "reason": message}] if field else []
        super().__init__(message, code=code, details=details)


class Unauthorized(OknoError):
    status_code = 401
    code = "unauthorized"


class Forbidden(OknoError):
    status_code = 403
    code = "forbidden"


class NotFound(OknoError):
    status_code = 404
    code = "not_found"


class Conflict(OknoError):
    status_code = 409
    code = "conflict"


class TooLarge(OknoError):
    status_code = 413
    code = "too_large"


class RateLimited(OknoError):
    status_code = 429
    code = "rate_limited"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def okno_error_response(exc: OknoError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    known = {400: "malformed_body", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    code = known.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    details = [
        {"field": _field_path(err.get("loc", ())), "reason": err.get("msg", "invalid"), "type": err.get("type")}
        for err in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details if d["field"]) or "request"
    return JSONResponse(error_body("validation_error", f"Invalid input: {fields}", details), status_code=422)


# Inputs are checked where they are read, and ids are bounded there (schemas.Id); a value that
# still reaches the database out of its range (a number in an opaque cursor, a NUL character,
# which PostgreSQL's text refuses) is the caller's to fix, not a crash.
UNSTORABLE_VALUES = (OverflowError, sa.exc.DataError)


def note_unstorable_value(request: Request, exc: Exception) -> None:
    log.warning("value out of the database's range on %s %s: %s", request.method, request.url.path, exc)


def unstorable_value_response(request: Request, exc: Exception) -> JSONResponse:
    note_unstorable_value(request, exc)
    message = "A value in the request is out of range or holds characters that cannot be stored."
    return JSONResponse(error_body("invalid_value", message), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OknoError)
    async def _okno_error(request: Request, exc: OknoError) -> JSONResponse:
        return okno_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)

    @app.exception_handler(sa.exc.IntegrityError)
    async def _integrity_error(request: Request, exc: sa.exc.IntegrityError) -> JSONResponse:
        # Constraints are checked before writing, so this is a concurrent request that won a race.
        log.warning("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            error_body("concurrent_conflict", "A concurrent change conflicted with this request; retry it."),
            status_code=409,
        )

    for kind in UNSTORABLE_VALUES:
        app.add_exception_handler(kind, unstorable_value_response)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "Something went wrong on our side."), status_code=500)
