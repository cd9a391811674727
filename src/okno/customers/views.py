"""The workspace's customer pages: the list with search, the customer card with every ticket and
the shared notes, editing in place, and merging two records of one person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, may_change_customers
from okno.customers import card, merge, queries, service
from okno.customers.models import IdentityKind, Plan
from okno.customers.schemas import CustomerUpdate, IdentityIn
from okno.db import utcnow
from okno.errors import Conflict, Forbidden, Invalid, OknoError
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import queries as ticket_queries
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TICKETS_PER_PAGE = 25
ATTRIBUTE_KEY_LIMIT = 64
_EMAIL = TypeAdapter(EmailStr)


def safe_next(target: str | None, fallback: str) -> str:
    """Only paths on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


async def run_read(page: Page, work: Callable[..., Any], *args: Any) -> Any:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        return await run_in_threadpool(work, session, page.signed_in.actor, *args)


async def run_write(page: Page, work: Callable[..., Any], *args: Any) -> Any:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
        return await run_in_threadpool(work, session, page.signed_in.actor, *args)


# --- the list -------------------------------------------------------------------------------


def _list(session: Session, actor: Actor, q: str | None, cursor: int | None) -> dict[str, Any]:
    rows = service.list_customers(session, actor, q=q, after_id=cursor, limit=PAGE_SIZE + 1, newest_first=True)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    organizations = {c.organization_id for c in rows if c.organization_id}
    return {
        "customers": [service.to_read(c) for c in rows],
        "organization_names": queries.organization_names(session, organizations) if organizations else {},
        "next_cursor": rows[-1].id if more else None,
        "q": q or "",
    }


@router.get("/customers")
async def customers_page(page: StaffPage, q: str | None = None, cursor: Id | None = None) -> Response:
    query = (q or "").strip()[:200] or None
    context = await run_read(page, _list, query, cursor)
    return page.render("customers/list.html", section="customers", **context)


# --- one customer ---------------------------------------------------------------------------


def _customer(session: Session, actor: Actor, customer_id: int, cursor: str | None) -> dict[str, Any]:
    customer = service.get_customer(session, actor, customer_id)
    if customer.merged_into_id is not None:
        return {"merged_into_id": customer.merged_into_id}
    filters = ticket_queries.TicketFilters(customer_id=customer_id)
    rows, next_cursor = ticket_queries.list_tickets(session, actor, filters, limit=TICKETS_PER_PAGE, cursor=cursor)
    notes = service.list_notes(session, actor, customer_id, newest_first=True)
    revisions = service.revisions_of(session, actor, {n.id for n in notes if n.edited_at})
    people = {n.author_id for n in notes} | {n.edited_by_id for n in notes if n.edited_by_id}
    people |= {r.written_by_id for rs in revisions.values() for r in rs}
    merged = service.merged_records(session, actor, customer_id)
    people |= {m.merged_by_id for m in merged if m.merged_by_id}
    return {
        "customer": service.to_read(customer),
        "organization": customer.organization,
        "organizations": service.list_organizations(session, actor),
        "attributes": card.shown_attributes(customer.attributes),
        "attributes_text": card.attributes_text(customer.attributes),
        "tickets": ticket_queries.to_reads(session, rows),
        "ticket_count": ticket_queries.count_tickets(session, actor, filters),
        "next_cursor": next_cursor,
        "notes": notes,
        "revisions": revisions,
        "merged_records": merged,
        "author_names": accounts_queries.user_names(session, people),
        "can_change": may_change_customers(actor),
        "now": utcnow(session),
    }


async def _render_customer(
    page: Page,
    customer_id: int,
    *,
    status_code: int = 200,
    cursor: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    context = await run_read(page, _customer, customer_id, cursor)
    if "merged_into_id" in context:
        return RedirectResponse(f"/customers/{context['merged_into_id']}?merged_from={customer_id}", status_code=303)
    return page.render(
        "customers/customer.html",
        status_code,
        section="customers",
        errors=errors or {},
        form=form or {},
        notice=notice,
        **context,
    )


@router.get("/customers/{customer_id}")
async def customer_page(
    page: StaffPage,
    customer_id: Id,
    cursor: str | None = None,
    saved: str | None = None,
    merged_from: Id | None = None,
) -> Response:
    notice = None
    if merged_from is not None:
        notice = page.gettext("Customer record %(id)s was merged into this one.", id=merged_from)
    elif saved == "customer":
        notice = page.gettext("Customer saved.")
    elif saved == "note":
        notice = page.gettext("Note saved.")
    return await _render_customer(page, customer_id, cursor=cursor, notice=notice)


def parse_attributes(text: str, current: dict[str, Any]) -> dict[str, Any]:
    """``key: value`` lines back into attributes; a value shown unchanged keeps its original type."""
    result: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > ATTRIBUTE_KEY_LIMIT:
            raise Invalid(f"line {number}", field="attributes")
        original = current.get(key)
        result[key] = (
            original if key in current and card.attributes_text({key: original}) == f"{key}: {value}" else value
        )
    return result


def _update(session: Session, actor: Actor, customer_id: int, fields: dict[str, str]) -> None:
    current = service.live_customer(session, actor, customer_id)
    attributes = parse_attributes(fields["attributes"], current.attributes)
    identities = []
    value = fields["new_identity"].strip()
    if value:
        kind = IdentityKind.email if "@" in value else IdentityKind.phone
        if kind == IdentityKind.email:
            try:
                value = str(_EMAIL.validate_python(value))
            except ValidationError:
                raise Invalid("not an email address", field="identities.value") from None
        identities.append(IdentityIn(kind=kind, value=value))
    changes = CustomerUpdate(
        name=fields["name"].strip(),
        plan=Plan(fields["plan"]) if fields["plan"] else None,
        organization_id=int(fields["organization_id"]) if fields["organization_id"].isdigit() else None,
        attributes=attributes,
        add_identities=identities,
    )
    service.update_customer(session, actor, customer_id, changes=changes)


@router.post("/customers/{customer_id}")
async def update_customer(
    page: StaffPage,
    customer_id: Id,
    name: Annotated[str, Form(max_length=1000)] = "",
    plan: Annotated[str, Form()] = "",
    organization_id: Annotated[str, Form()] = "",
    attributes: Annotated[str, Form(max_length=20_000)] = "",
    new_identity: Annotated[str, Form(max_length=400)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    fields = {
        "name": name,
        "plan": plan,
        "organization_id": organization_id,
        "attributes": attributes,
        "new_identity": new_identity,
    }
    errors: dict[str, str] = {}
    if len(name.strip()) > 200:
        errors["name"] = page.gettext("Use at most 200 characters.")
    if plan and plan not in {p.value for p in Plan}:
        errors["plan"] = page.gettext("Choose a plan from the list.")
    if not errors:
        try:
            await run_write(page, _update, customer_id, fields)
            return RedirectResponse(f"/customers/{customer_id}?saved=customer", status_code=303)
        except (Invalid, ValidationError) as invalid:
            errors.update(_field_errors(page, invalid))
        except Conflict as conflict:
            if conflict.code != "identity_taken":
                raise
            errors["new_identity"] = page.gettext(
                "This address or number belongs to another customer. If it is the same person, merge the records."
            )
    return await _render_customer(page, customer_id, status_code=422, errors=errors, form=fields)


def _field_errors(page: Page, error: Invalid | ValidationError) -> dict[str, str]:
    messages = {
        "attributes": page.gettext("Write one attribute a line as key: value (keys up to 64 characters)."),
        "organization_id": page.gettext("Choose an organization from the list."),
        "identities.value": page.gettext("Enter an email address or a phone number with at least five digits."),
        "identities": page.gettext("Enter an email address or a phone number with at least five digits."),
    }
    fields_of = {
        "identities.value": "new_identity",
        "identities": "new_identity",
        "add_identities": "new_identity",
        "value": "new_identity",
    }
    found: dict[str, str] = {}
    if isinstance(error, ValidationError):
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "name"
            found[fields_of.get(field, field)] = messages.get(field, page.gettext("Check this value."))
        return found
    for detail in error.details or [{"field": "name"}]:
        field = str(detail.get("field", "name"))
        found[fields_of.get(field, field)] = messages.get(field, error.message)
    return found


# --- notes ----------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/notes")
async def add_note(
    page: StaffPage,
    customer_id: Id,
    body: Annotated[str, Form(max_length=20_000)] = "",
    next: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    if body.strip():
        note = await run_write(page, lambda s, a: service.add_note(s, a, customer_id, body=body).id)
        target = safe_next(next, f"/customers/{customer_id}?saved=note")
        return RedirectResponse(f"{target}#customer-note-{note}" if next else target, status_code=303)
    errors = {"note": page.gettext("Write the note first.")}
    return await _render_customer(page, customer_id, status_code=422, errors=errors)


@router.post("/customers/{customer_id}/notes/{note_id}")
async def edit_note(
    page: StaffPage,
    customer_id: Id,
    note_id: Id,
    body: Annotated[str, Form(max_length=20_000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    if not body.strip():
        errors = {f"note-{note_id}": page.gettext("A note cannot be empty.")}
        return await _render_customer(page, customer_id, status_code=422, errors=errors)
    await run_write(page, lambda s, a: service.edit_note(s, a, customer_id, note_id, body=body))
    return RedirectResponse(f"/customers/{customer_id}?saved=note#note-{note_id}", status_code=303)


# --- merging --------------------------------------------------------------------------------


def _record(session: Session, actor: Actor, customer_id: int) -> dict[str, Any]:
    customer = service.get_customer(session, actor, customer_id)
    filters = ticket_queries.TicketFilters(customer_id=customer_id)
    return {
        "customer": service.to_read(customer),
        "organization_name": customer.organization.name if customer.organization else None,
        "ticket_count": ticket_queries.count_tickets(session, actor, filters),
        "note_count": service.count_notes(session, actor, customer_id),
    }


def _merge_context(
    session: Session, actor: Actor, customer_id: int, into_id: int | None, q: str | None
) -> dict[str, Any]:
    source = _record(session, actor, customer_id)
    target = None
    if into_id is not None and into_id != customer_id:
        try:
            target = _record(session, actor, into_id)
        except OknoError:
            target = None
    candidates = []
    if q:
        found = service.list_customers(session, actor, q=q, after_id=None, limit=20)
        candidates = [service.to_read(c) for c in found if c.id != customer_id]
    return {"source": source, "target": target, "candidates": candidates, "q": q or ""}


@router.get("/customers/{customer_id}/merge")
async def merge_page(page: StaffPage, customer_id: Id, into: Id | None = None, q: str | None = None) -> Response:
    assert page.signed_in is not None
    if not may_change_customers(page.signed_in.actor):
        raise Forbidden("Your role may not merge customers.")
    query = (q or "").strip()[:200] or None
    context = await run_read(page, _merge_context, customer_id, into, query)
    if context["source"]["customer"].merged_into_id is not None:
        return RedirectResponse(f"/customers/{customer_id}", status_code=303)
    return page.render("customers/merge.html", section="customers", error=None, **context)


@router.post("/customers/{customer_id}/merge")
async def merge_customer(
    page: StaffPage,
    customer_id: Id,
    into_id: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    try:
        await run_write(page, lambda s, a: merge.merge_customers(s, a, source_id=customer_id, target_id=into_id))
    except (Conflict, Invalid) as refused:
        context = await run_read(page, _merge_context, customer_id, into_id, None)
        return page.render("customers/merge.html", 409, section="customers", error=refused.message, **context)
    return RedirectResponse(f"/customers/{into_id}?merged_from={customer_id}", status_code=303)
