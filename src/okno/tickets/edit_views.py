"""Ticket page forms that change a ticket in place: tags, custom fields, merging, the spam folder.

Every change goes through ``changes.update_ticket`` or ``changes.merge``, so the ticket's
history records it; a refused form shows its error next to the field and changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts.permissions import Actor
from okno.channels.spam import service as spam_service
from okno.errors import Conflict, Invalid, OknoError
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import access, fields, queries
from okno.tickets import changes as ticket_changes
from okno.tickets.models import CustomFieldDefinition, FieldType
from okno.tickets.schemas import TicketUpdate
from okno.tickets.views import Shown, render_ticket
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
FIELD_PREFIX = "cf_"
_INTEGER = re.compile(r"^[+-]?\d{1,15}$")


@router.post("/tickets/{ticket_id}/tags")
async def change_tags(
    page: StaffPage,
    ticket_id: Id,
    csrf_token: Annotated[str, Form()] = "",
    add: Annotated[str, Form(max_length=200)] = "",
    remove: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Adds a tag (several, separated by commas) or removes one (the × on its chip)."""
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    added = [name for name in (part.strip() for part in add.split(",")) if name]
    if not added and not remove:
        return await render_ticket(page, ticket_id, Shown(tag_error=page.gettext("Type a tag to add.")), 422)
    try:
        update = TicketUpdate.model_validate(
            {**({"add_tags": added} if added else {}), **({"remove_tags": [remove]} if remove else {})}
        )
    except ValidationError:
        error = page.gettext("A tag is one word of letters, digits and - . : / + (up to 80 characters).")
        return await render_ticket(page, ticket_id, Shown(tag_error=error, tag_value=add), 422)
    return await _update(page, ticket_id, update, anchor="tags")


def _parse(definition: CustomFieldDefinition, raw: str) -> Any:
    """The typed value of a form field; ValueError when it cannot be one. Empty clears the field."""
    text = raw.strip()
    if not text:
        return None
    kind = FieldType(definition.field_type)
    if kind == FieldType.number:
        if _INTEGER.match(text):
            return int(text)
        number = float(text.replace(",", "."))
        if not math.isfinite(number):
            raise ValueError(text)
        return number
    if kind == FieldType.boolean:
        if text not in {"true", "false"}:
            raise ValueError(text)
        return text == "true"
    return raw if kind == FieldType.text else text


def _field_error(page: Page, definition: CustomFieldDefinition) -> str:
    return {
        FieldType.text: page.gettext("Too long: at most %(max)s characters.", max=fields.MAX_TEXT_FIELD),
        FieldType.number: page.gettext("Enter a number, such as 42 or 3.5."),
        FieldType.boolean: page.gettext("Choose yes or no."),
        FieldType.date: page.gettext("Enter a date such as 2026-03-31."),
        FieldType.select: page.gettext("Choose one of the options."),
    }[FieldType(definition.field_type)]


def _check_fields(
    session: Session, actor: Actor, page: Page, submitted: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values of the submitted fields, and an error per field that cannot take its value."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for definition in fields.list_custom_fields(session, actor):
        if definition.key not in submitted:
            continue
        try:
            value = _parse(definition, submitted[definition.key])
            fields.validate_custom_fields(session, {definition.key: value})
        except (ValueError, Invalid):
            errors[definition.key] = _field_error(page, definition)
            continue
        values[definition.key] = value
    return values, errors


@router.post("/tickets/{ticket_id}/fields")
async def change_fields(page: StaffPage, ticket_id: Id) -> Response:
    """The custom fields form: each typed by its definition; all valid, or nothing changes."""
    form = await page.request.form()
    check_csrf(page, str(form.get("csrf_token") or ""))
    assert page.signed_in is not None
    actor = page.signed_in.actor
    submitted = {
        key.removeprefix(FIELD_PREFIX): str(value)[: fields.MAX_TEXT_FIELD + 1]
        for key, value in form.items()
        if key.startswith(FIELD_PREFIX) and isinstance(value, str)
    }
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        values, errors = await run_in_threadpool(_check_fields, session, actor, page, submitted)
    if errors:
        shown = Shown(field_errors=errors, field_values=submitted)
        return await render_ticket(page, ticket_id, shown, 422)
    return await _update(page, ticket_id, TicketUpdate(custom_fields=values), anchor="fields")


async def _update(page: StaffPage, ticket_id: int, update: TicketUpdate, *, anchor: str) -> Response:
    assert page.signed_in is not None
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(
                ticket_changes.update_ticket, session, page.signed_in.actor, ticket_id, changes=update
            )
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        return await render_ticket(page, ticket_id, Shown(error=refused.message), 422)
    return RedirectResponse(f"/tickets/{ticket_id}#{anchor}", status_code=303)


def _merge_context(session: Session, actor: Actor, source_id: int, q: str, target_id: int | None) -> dict[str, Any]:
    source = access.get_ticket(session, actor, source_id)
    target = access.get_ticket(session, actor, target_id) if target_id is not None else None
    found = queries.merge_candidates(session, actor, source, q) if target is None else []
    shown = [source, *([target] if target else []), *found]
    reads = {r.id: r for r in queries.to_reads(session, shown)}
    return {
        "source": reads[source.id],
        "target": reads[target.id] if target else None,
        "candidates": [reads[t.id] for t in found],
        "different_customers": target is not None and target.customer_id != source.customer_id,
        "q": q,
    }


async def _merge_page(
    page: StaffPage,
    ticket_id: int,
    *,
    q: str = "",
    target: int | None = None,
    error: str | None = None,
    confirm_error: str | None = None,
    status_code: int = 200,
) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_merge_context, session, page.signed_in.actor, ticket_id, q, target)
    return page.render(
        "tickets/merge.html", status_code, section="inbox", error=error, confirm_error=confirm_error, **context
    )


@router.get("/tickets/{ticket_id}/merge")
async def merge_form(page: StaffPage, ticket_id: Id, q: str = "", target: Id | None = None) -> Response:
    """Find the ticket to merge into (by #number or words), then confirm with both side by side."""
    return await _merge_page(page, ticket_id, q=q.strip()[:200], target=target)


@router.post("/tickets/{ticket_id}/merge")
async def merge(
    page: StaffPage,
    ticket_id: Id,
    target_id: Annotated[int, Form()],
    confirm_different_customers: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            source_number, merged_into = await run_in_threadpool(
                _merge, session, page.signed_in.actor, ticket_id, target_id, confirm_different_customers
            )
    except Conflict as conflict:
        if conflict.code == "different_customers":
            text = page.gettext("These tickets belong to different customers. Tick the box to merge them anyway.")
            return await _merge_page(page, ticket_id, target=target_id, confirm_error=text, status_code=422)
        if conflict.code == "target_closed":
            text = page.gettext("That ticket is closed; choose an open one.")
        elif conflict.code == "ticket_merged":
            text = page.gettext("One of these tickets was already merged into another one.")
        else:
            text = conflict.message
        return await _merge_page(page, ticket_id, error=text, status_code=409)
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        return await _merge_page(page, ticket_id, error=refused.message, status_code=422)
    return RedirectResponse(f"/tickets/{merged_into}?merged_from={source_number}", status_code=303)


def _merge(session: Session, actor: Actor, source_id: int, target_id: int, confirmed: bool) -> tuple[int, int]:
    target = ticket_changes.merge(session, actor, source_id, target_id=target_id, confirm_different_customers=confirmed)
    return access.get_ticket(session, actor, source_id).number, target.id


@router.post("/tickets/{ticket_id}/spam")
async def mark_spam(
    page: StaffPage,
    ticket_id: Id,
    csrf_token: Annotated[str, Form()] = "",
    block_sender: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Into the spam folder (on a ticket there already, ``block_sender`` only blocks its sender)."""
    return await _spam_change(page, ticket_id, csrf_token, spam_service.mark, block_sender=block_sender == "on")


@router.post("/tickets/{ticket_id}/not-spam")
async def unmark_spam(page: StaffPage, ticket_id: Id, csrf_token: Annotated[str, Form()] = "") -> Response:
    return await _spam_change(page, ticket_id, csrf_token, spam_service.unmark)


async def _spam_change(
    page: StaffPage, ticket_id: int, csrf_token: str, change: Callable[..., object], **options: Any
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    actor = page.signed_in.actor
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            await run_in_threadpool(lambda: change(session, actor, ticket_id, **options))
    except OknoError as refused:
        if refused.status_code == 404:
            raise
        text = refused.message
        if isinstance(refused, Invalid) and refused.details and refused.details[0].get("field") == "block_sender":
            text = page.gettext("The customer has no email address to block.")
        return await render_ticket(page, ticket_id, Shown(error=text), 422)
    page.request.app.state.runtime.inbox_counts.forget(actor.user_id)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
