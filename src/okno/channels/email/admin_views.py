"""Admin pages for mailboxes and for the mail that could not be filed (quarantine).

Administrators only (the services check it). Passwords are write-only: the form never shows a
stored one; leaving the field empty keeps it. The quarantine lists what the processing job
could not file, offers the raw mail for download and runs it again through the same job.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.channels.email import mailboxes, quarantine
from okno.channels.email.models import Receiving, Security
from okno.channels.email.schemas import SETTINGS, MailboxCreate, MailboxUpdate
from okno.crypto import Sealer
from okno.errors import Conflict, Invalid
from okno.schemas import Id
from okno.web import forms
from okno.web.i18n import N_
from okno.web.pages import Page, StaffPage

router = APIRouter(include_in_schema=False)

TEXT_FIELDS = ("address", *SETTINGS)
MAILBOX_ERRORS = {
    "address": N_("Enter an email address, e.g. support@shop.example."),
    "display_name": N_("Enter a name of at most 200 characters."),
    "imap_host": N_("Enter the IMAP server's host name, e.g. imap.shop.example."),
    "imap_port": N_("Enter a port between 1 and 65535, or leave it empty for the usual one."),
    "imap_username": N_("Enter at most 320 characters."),
    "imap_password": N_("Enter at most 1000 characters."),
    "imap_folder": N_("Enter the folder to read, e.g. INBOX."),
    "smtp_host": N_("Enter the SMTP server's host name, e.g. smtp.shop.example."),
    "smtp_port": N_("Enter a port between 1 and 65535, or leave it empty for the usual one."),
    "smtp_username": N_("Enter at most 320 characters."),
    "smtp_password": N_("Enter at most 1000 characters."),
}


def _render(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    return forms.render_admin(page, template, status, admin_key="mailboxes", **context)


def _sealer(page: Page) -> Sealer:
    return Sealer(page.request.app.state.runtime.settings.resolved_secret_key())


# ---- mailboxes ----


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    boxes = mailboxes.list_mailboxes(session, actor)
    _found, quarantined = quarantine.list_quarantined(session, actor, limit=0)
    return {"mailboxes": boxes, "teams": accounts_queries.team_names(session), "quarantined": quarantined}


@router.get("/admin/mailboxes")
async def mailboxes_page(page: StaffPage, done: str | None = None) -> Response:
    context = await forms.run(page, False, _list, page.actor)
    return _render(page, "admin/mailboxes.html", done=done, **context)


def _form_context(session: Session, actor: Actor) -> dict[str, Any]:
    require_admin(actor)
    return {
        "teams": accounts_queries.team_names(session),
        "receivings": [r.value for r in Receiving],
        "securities": [s.value for s in Security],
    }


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: forms.text(form, name) for name in TEXT_FIELDS}
    values["is_active"] = form.get("is_active") == "on"
    for kind in ("imap", "smtp"):
        values[f"{kind}_password"] = form.get(f"{kind}_password") or ""
        values[f"clear_{kind}_password"] = form.get(f"clear_{kind}_password") == "on"
    return values


def _data(values: dict[str, Any]) -> dict[str, Any]:
    """The form's text as the schema takes it: empty optional fields are None."""
    data = {k: (v if v != "" else None) for k, v in values.items()}
    data["display_name"] = values["display_name"]
    data["imap_folder"] = values["imap_folder"] or "INBOX"
    data["team_id"] = int(values["team_id"]) if str(values["team_id"]).isdigit() else None
    return data


def _errors(page: Page, error: ValidationError) -> dict[str, str]:
    found = forms.field_errors(page, error, MAILBOX_ERRORS)
    for item in error.errors():
        if not item["loc"] and "imap_host" in str(item.get("msg", "")):
            found.pop("form", None)
            found["imap_host"] = page.gettext("Receiving by IMAP needs the IMAP server.")
    return found


async def _mailbox_form(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    extra = await forms.run(page, False, _form_context, page.actor)
    return _render(page, template, status, **extra, **context)


@router.get("/admin/mailboxes/new")
async def new_mailbox(page: StaffPage) -> Response:
    values = {name: "" for name in TEXT_FIELDS} | {
        "receiving": "smtp",
        "imap_security": "tls",
        "smtp_security": "starttls",
        "imap_folder": "INBOX",
        "is_active": True,
    }
    return await _mailbox_form(page, "admin/mailbox.html", values=values, mailbox=None)


@router.post("/admin/mailboxes")
async def create_mailbox(page: StaffPage) -> Response:
    form = await forms.read_form(page)
    values = _values(form)
    data = _data(values)
    for name in ("is_active", "clear_imap_password", "clear_smtp_password"):
        data.pop(name)
    try:
        created = await forms.run(
            page,
            True,
            mailboxes.add_mailbox,
            page.actor,
            data=MailboxCreate.model_validate(data),
            sealer=_sealer(page),
        )
    except ValidationError as error:
        errors = _errors(page, error)
    except Conflict:
        errors = {"address": page.gettext("A mailbox with this address exists already.")}
    except Invalid:
        errors = {"team_id": page.gettext("Choose a team from the list.")}
    else:
        return RedirectResponse(f"/admin/mailboxes?done=created&id={created.id}", status_code=303)
    values["imap_password"] = values["smtp_password"] = ""  # never sent back to the browser
    return await _mailbox_form(page, "admin/mailbox.html", 422, values=values, errors=errors, mailbox=None)


def _mailbox(session: Session, actor: Actor, mailbox_id: int) -> dict[str, Any]:
    box = mailboxes.get_mailbox(session, actor, mailbox_id)
    values: dict[str, Any] = {n: "" if getattr(box, n) is None else str(getattr(box, n)) for n in TEXT_FIELDS}
    values["is_active"] = box.is_active
    return {"mailbox": box, "values": values}


@router.get("/admin/mailboxes/{mailbox_id:int}")
async def mailbox_page(page: StaffPage, mailbox_id: Id, done: str | None = None) -> Response:
    context = await forms.run(page, False, _mailbox, page.actor, mailbox_id)
    return await _mailbox_form(page, "admin/mailbox.html", done=done, **context)


@router.post("/admin/mailboxes/{mailbox_id:int}")
async def update_mailbox(page: StaffPage, mailbox_id: Id) -> Response:
    form = await forms.read_form(page)
    values = _values(form)
    try:
        await forms.run(
            page,
            True,
            mailboxes.update_mailbox,
            page.actor,
            mailbox_id,
            data=MailboxUpdate.model_validate(_data(values)),
            sealer=_sealer(page),
        )
    except ValidationError as error:
        errors = _errors(page, error)
    except Conflict:
        errors = {"address": page.gettext("A mailbox with this address exists already.")}
    except Invalid:
        errors = {"team_id": page.gettext("Choose a team from the list.")}
    else:
        return RedirectResponse(f"/admin/mailboxes/{mailbox_id}?done=saved", status_code=303)
    context = await forms.run(page, False, _mailbox, page.actor, mailbox_id)
    values["imap_password"] = values["smtp_password"] = ""
    context["values"] = values
    return await _mailbox_form(page, "admin/mailbox.html", 422, errors=errors, **context)


# ---- quarantine ----


@router.get("/admin/mailboxes/quarantine")
async def quarantine_page(page: StaffPage, done: str | None = None, n: int = 0) -> Response:
    found, total = await forms.run(page, False, quarantine.list_quarantined, page.actor)
    return _render(page, "admin/quarantine.html", mails=found, total=total, done=done, done_count=n)


@router.get("/admin/mailboxes/quarantine/{inbound_id:int}.eml")
async def download_raw(page: StaffPage, inbound_id: Id) -> Response:
    raw = await forms.run(page, False, quarantine.raw_mail, page.actor, inbound_id)
    return Response(
        raw,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="mail-{inbound_id}.eml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/admin/mailboxes/quarantine/{inbound_id:int}/retry")
async def retry_one(page: StaffPage, inbound_id: Id) -> Response:
    await forms.read_form(page)
    try:
        await forms.run(page, True, quarantine.retry, page.actor, inbound_id)
    except Conflict:
        return RedirectResponse("/admin/mailboxes/quarantine?done=gone", status_code=303)
    return RedirectResponse("/admin/mailboxes/quarantine?done=queued&n=1", status_code=303)


@router.post("/admin/mailboxes/quarantine/retry")
async def retry_everything(page: StaffPage) -> Response:
    await forms.read_form(page)
    count = await forms.run(page, True, quarantine.retry_all, page.actor)
    return RedirectResponse(f"/admin/mailboxes/quarantine?done=queued&n={count}", status_code=303)
