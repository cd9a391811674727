"""The widget's public configuration, read by its script from pages on other sites.

CORS by hand rather than a middleware: the allowed origins differ per widget and live in the
database. ``Access-Control-Allow-Origin`` echoes the page's origin only when it is on the
widget's allow-list; ``Vary: Origin`` on every answer keeps shared caches from handing one
site's answer to another. No cookies are involved (the widget never uses the help desk's).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from okno.channels.widget import queries
from okno.db import utcnow
from okno.errors import OknoError, okno_error_response
from okno.http.deps import DbSession, RuntimeDep

router = APIRouter(include_in_schema=False)


@router.get("/widget/{key}/config")
def widget_config(key: str, request: Request, session: DbSession, runtime: RuntimeDep) -> JSONResponse:
    origin = request.headers.get("origin")
    try:
        config = queries.public_config(
            session,
            key,
            origin=origin,
            at=utcnow(session),
            timeout_seconds=runtime.settings.presence_timeout_seconds,
        )
    except OknoError as error:
        response = okno_error_response(error)
    else:
        response = JSONResponse(config.model_dump(mode="json"))
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "no-store"
    return response
