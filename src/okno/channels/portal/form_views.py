"""The public web form (/support/new) and the portal's "New request" (/portal/new).

Spam protection without a third-party service: a honeypot field people never see, a minimum
time between serving the form and sending it (a signed timestamp, ``form_token``), and rate
limits per address and per client address. A bot that fills the honeypot or posts at once gets
a thank-you page and nothing is created; a person who was quicker than the minimum gets the
form back with what they typed.
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from okno.channels.portal import form_token, service, uploads
from okno.channels.portal.pages import CustomerPage, PortalPage, VisitorPage, client_address, run
from okno.errors import RateLimited
from okno.runtime import Runtime

router = APIRouter(include_in_schema=False)
FIELDS = ("name", "email", "subject", "message", "website", "started")
HONEYPOT = "website"


def _now(page: PortalPage) -> Any:
    runtime: Runtime = page.request.app.state.runtime
    return runtime.db.clock.now()


def _secret(page: PortalPage) -> str:
    runtime: Runtime = page.request.app.state.runtime
    return runtime.settings.resolved_secret_key()


def _render_form(
    page: PortalPage,
    template: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    runtime: Runtime = page.request.app.state.runtime
    return page.render(
        template,
        status_code,
        section="new",
        form={**(values or {})},
        errors=errors or {},
        started=form_token.issue(_secret(page), _now(page)),
        notice=notice,
        max_files=service.MAX_FILES,
        size_limit=page.formatter.size(runtime.settings.max_attachment_bytes),
    )


def _check(page: PortalPage, values: dict[str, str], *, with_contact: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if with_contact:
        if len(values["name"]) > 200:
            errors["name"] = page.gettext("Use at most 200 characters.")
        try:
            values["email"] = validate_email(values["email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = page.gettext("Enter a valid email address.")
    if not values["subject"]:
        errors["subject"] = page.gettext("Say in a few words what it is about.")
    elif len(values["subject"]) > 500:
        errors["subject"] = page.gettext("Use at most 500 characters.")
    if not values["message"]:
        errors["message"] = page.gettext("Write your message.")
    elif len(values["message"]) > 50_000:
        errors["message"] = page.gettext("Your message is too long (at most 50,000 characters).")
    return errors


def _rate_limited(page: PortalPage) -> Response:
    return page.render(
        "portal/limited.html",
        429,
        message=page.gettext("You have sent several requests in a short time. Please wait an hour and try again."),
    )


@router.get("/support/new")
async def public_form(page: VisitorPage) -> Response:
    return _render_form(page, "portal/support_form.html")


@router.post("/support/new")
async def submit_public_form(page: VisitorPage) -> Response:
    posted = await uploads.read(page, FIELDS)
    values = posted.values
    runtime: Runtime = page.request.app.state.runtime
    if values[HONEYPOT]:
        return page.render("portal/thanks.html", number=None)
    verdict = form_token.verify(
        _secret(page), values["started"], _now(page), min_seconds=runtime.settings.portal_form_min_seconds
    )
    if verdict == form_token.Verdict.forged:
        return page.render("portal/thanks.html", number=None)
    kept = {k: values[k] for k in ("name", "email", "subject", "message")}
    if verdict != form_token.Verdict.ok:
        notice = page.gettext("Please check your message once more, then send it.")
        return _render_form(page, "portal/support_form.html", values=kept, notice=notice)
    errors = _check(page, values, with_contact=True)
    stored = await uploads.store(page, posted.files, errors) if not errors else []
    if errors:
        return _render_form(page, "portal/support_form.html", values=kept, errors=errors, status_code=422)
    try:
        number = await run(
            page,
            True,
            lambda session, **kw: service.submit_form(session, **kw).number,
            name=values["name"],
            email=values["email"],
            subject=values["subject"],
            message=values["message"],
            client=client_address(page.request),
            uploads=stored,
            regex_timeout=runtime.settings.rule_regex_timeout_ms / 1000,
        )
    except RateLimited:
        return _rate_limited(page)
    return page.render("portal/thanks.html", number=number)


@router.get("/portal/new")
async def new_request(page: CustomerPage) -> Response:
    return _render_form(page, "portal/new.html")


@router.post("/portal/new")
async def submit_new_request(page: CustomerPage) -> Response:
    assert page.customer is not None
    posted = await uploads.read(page, FIELDS)
    values = posted.values
    kept = {k: values[k] for k in ("subject", "message")}
    errors = _check(page, values, with_contact=False)
    stored = await uploads.store(page, posted.files, errors) if not errors else []
    if errors:
        return _render_form(page, "portal/new.html", values=kept, errors=errors, status_code=422)
    actor = page.customer.actor
    ticket_id = await run(
        page,
        True,
        lambda session: (
            service.submit_signed_in(
                session, actor, subject=values["subject"], message=values["message"], uploads=stored
            ).id
        ),
    )
    return RedirectResponse(f"/portal/requests/{ticket_id}?sent=1", status_code=303)
