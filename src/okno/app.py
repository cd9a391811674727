"""The web application: every domain's routes, error mapping, limits, and the embedded worker."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from okno import __version__
from okno.accounts import admin_views as accounts_admin_views
from okno.accounts import api as accounts_api
from okno.accounts import invite_views as accounts_invite_views
from okno.accounts import views as accounts_views
from okno.automation.business_hours import admin_views as business_hours_admin_views
from okno.automation.business_hours import api as business_hours_api
from okno.automation.business_hours import views as business_hours_views
from okno.automation.macros import api as macros_api
from okno.automation.macros import views as macros_views
from okno.automation.rules import api as rules_api
from okno.automation.rules import views as rules_views
from okno.automation.sla import admin_views as sla_admin_views
from okno.automation.sla import api as sla_api
from okno.automation.webhooks import admin_views as webhooks_admin_views
from okno.automation.webhooks import api as webhooks_api
from okno.channels.chat import api as chat_api
from okno.channels.chat import ws as chat_ws
from okno.channels.email import admin_views as email_admin_views
from okno.channels.portal import form_views as portal_form_views
from okno.channels.portal import service as portal_service
from okno.channels.portal import views as portal_views
from okno.channels.spam import admin_views as spam_admin_views
from okno.channels.spam import api as spam_api
from okno.channels.widget import admin_views as widget_admin_views
from okno.channels.widget import api as widget_api
from okno.config import Settings
from okno.customers import api as customers_api
from okno.customers import organization_views
from okno.customers import views as customers_views
from okno.errors import install_error_handlers
from okno.http import stream
from okno.http.api_docs import install_api_docs
from okno.http.limits import BodyLimitMiddleware
from okno.http.openapi import document_errors
from okno.http.timing import ServerTimingMiddleware
from okno.notifications import views as notifications_views
from okno.routing import api as routing_api
from okno.routing import views as routing_views
from okno.runtime import Runtime, freeze_startup_objects
from okno.tickets import admin_views as tickets_admin_views
from okno.tickets import api as tickets_api
from okno.tickets import composer_views as tickets_composer_views
from okno.tickets import edit_views as tickets_edit_views
from okno.tickets import inbox_views
from okno.tickets import new_views as new_ticket_views
from okno.tickets import views as tickets_views
from okno.web import live
from okno.web.errors import install_page_handlers

log = logging.getLogger(__name__)

API_DESCRIPTION = """
The Okno REST API. Every call needs `Authorization: Bearer <token>` (create one with
`okno token create --email …` or `POST /api/v1/auth/tokens`).

* Every `POST` honours an `Idempotency-Key` header: a retry with the same key returns the
  first result and creates nothing twice.
* Errors always have the body `{"error": {"code", "message", "details"}}`; invalid input is
  `422` and names the field; unknown fields are refused.
* Lists use keyset pagination: pass the `next_cursor` of one page as `cursor` for the next.
* Live events: a WebSocket at `/api/v1/stream?after_id=<last id seen>`.

This is a stable interface: later versions only add to it.
"""


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or Runtime.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_objects()
        runtime.bus.start()
        if settings.embedded_worker:
            runtime.worker.start_thread(poll_seconds=settings.worker_poll_seconds)
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="Okno",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,  # served with their own assets (install_api_docs)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_request_bytes,
        # Room for the multipart envelope around the largest allowed file.
        upload_limit=settings.max_attachment_bytes + 64 * 1024,
        upload_paths=("/api/v1/attachments", "/attachments"),
        # The public form and the portal send a few files with the text.
        form_limit=portal_service.MAX_FILES * settings.max_attachment_bytes + 256 * 1024,
        form_paths=("/support/new", "/portal/"),
    )
    app.add_middleware(ServerTimingMiddleware)
    api_routers = (
        tickets_api.router,
        customers_api.router,
        accounts_api.router,
        macros_api.router,
        rules_api.router,
        business_hours_api.router,
        sla_api.router,
        widget_api.router,
        chat_api.router,
        chat_ws.router,
        webhooks_api.router,
        routing_api.router,
        spam_api.router,
    )
    for router in (*api_routers, stream.router):
        app.include_router(router)
    # The new-ticket page before the ticket pages: /tickets/new is not /tickets/{ticket_id}.
    for router in (
        accounts_views.router,
        new_ticket_views.router,
        tickets_views.router,
        tickets_edit_views.router,
        tickets_composer_views.router,
        notifications_views.router,
        macros_views.router,
        rules_views.router,
        inbox_views.router,
        customers_views.router,
        organization_views.router,
        live.router,
        accounts_admin_views.router,
        accounts_invite_views.router,
        tickets_admin_views.router,
        portal_views.router,
        portal_form_views.router,
        email_admin_views.router,
        routing_views.router,
        business_hours_admin_views.router,
        business_hours_views.router,
        widget_admin_views.router,
        webhooks_admin_views.router,
        sla_admin_views.router,
        spam_admin_views.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("okno", "web/static")]), name="static")
    install_page_handlers(app)
    portal_views.install(app)
    document_errors(app)
    install_api_docs(app)

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Liveness and database check",
        responses={503: {"description": 'The database is unreachable: `{"status": "error", ...}`'}},
    )
    def healthz() -> JSONResponse:
        try:
            with runtime.db.read() as session:
                session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "database": runtime.db.dialect_name})

    return app


def create_app_from_environment() -> FastAPI:
    """For ``uvicorn --factory`` and several worker processes: settings from ``OKNO_*``."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(settings)
