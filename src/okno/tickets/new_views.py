"""The page where an agent opens a ticket on a customer's behalf (a phone call, an outbound message).

It goes through ``tickets.service.create_ticket``, the same use case as ``POST /api/v1/tickets``:
the first message is either the customer's words as the agent took them down, or the agent's
own outbound message (``outbound``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_agent
from okno.customers import service as customers_service
from okno.errors import Invalid, NotFound
from okno.http.deps import unit_of_work
from okno.schemas import Id
from okno.tickets import service
from okno.tickets.models import Channel, Priority
from okno.tickets.schemas import TicketCreate, normalise_tag
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
# The channels an agent records a conversation from; the others are made by their adapters.
CHANNELS = [Channel.phone, Channel.email, Channel.chat, Channel.other]
# TicketCreate's fields (and the services' error fields) as the form names them.
FORM_FIELDS = {
    "customer": "customer",
    "customer_id": "customer",
    "subject": "subject",
    "message": "body",
    "channel": "channel",
    "priority": "priority",
    "team_id": "team",
    "assignee_id": "assignee",
    "tags": "tags",
}


def _context(session: Session, actor: Actor, customer_id: int | None, customer_q: str | None) -> dict[str, Any]:
    require_agent(actor)
    chosen = None
    if customer_id is not None:
        try:
            customer = customers_service.get_customer(session, actor, customer_id)
            if customer.merged_into_id is None:
                chosen = customers_service.to_read(customer)
        except NotFound:
            chosen = None
    matches = []
    if customer_q:
        rows = customers_service.list_customers(session, actor, q=customer_q, after_id=None, limit=10)
        matches = [customers_service.to_read(c) for c in rows]
    return {
        "chosen": chosen,
        "matches": matches,
        "customer_q": customer_q or "",
        "channels": [c.value for c in CHANNELS],
        "priorities": [p.value for p in Priority],
        "team_names": accounts_queries.team_names(session),
        "agents": accounts_queries.assignable_users(session),
    }


async def _render(
    page: Page,
    *,
    status_code: int = 200,
    customer_id: int | None = None,
    customer_q: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    assert page.signed_in is not None
    async with unit_of_work(page.request.app.state.runtime, writes=False) as session:
        context = await run_in_threadpool(_context, session, page.signed_in.actor, customer_id, customer_q)
    values = {"channel": "phone", "priority": "normal", "first_message": "customer", **(form or {})}
    return page.render(
        "tickets/new.html", status_code, section="new_ticket", form=values, errors=errors or {}, **context
    )


@router.get("/tickets/new")
async def new_ticket_page(page: StaffPage, customer_id: Id | None = None, customer_q: str | None = None) -> Response:
    return await _render(page, customer_id=customer_id, customer_q=(customer_q or "").strip()[:200] or None)


def _messages(page: Page) -> dict[str, str]:
    return {
        "customer": page.gettext("Choose a customer, or enter the email address of a new one."),
        "new_email": page.gettext("Enter a valid email address."),
        "subject": page.gettext("Enter a subject (up to 500 characters)."),
        "body": page.gettext("Write the first message."),
        "channel": page.gettext("Choose a channel from the list."),
        "priority": page.gettext("Choose a priority from the list."),
        "team": page.gettext("Choose a team from the list."),
        "assignee": page.gettext("Choose an agent of the ticket's team (or leave it empty)."),
        "tags": page.gettext("Tags are words of letters, digits and - . : / + (up to 80 characters each)."),
        "first_message": page.gettext("Choose who wrote the first message."),
    }


def _data(form: dict[str, str], errors: dict[str, str], messages: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subject": form["subject"].strip(),
        "message": {"body": form["body"]},
        "channel": form["channel"],
        "priority": form["priority"],
        "outbound": form["first_message"] == "agent",
    }
    if form["first_message"] not in {"customer", "agent"}:
        errors["first_message"] = messages["first_message"]
    if form["channel"] not in {c.value for c in CHANNELS}:
        errors["channel"] = messages["channel"]
    if form["customer_id"].isdigit():
        data["customer_id"] = int(form["customer_id"])
    elif form["new_email"].strip():
        data["customer"] = {"email": form["new_email"].strip(), "name": form["new_name"].strip()}
    else:
        errors["customer"] = messages["customer"]
    if form["team"]:
        data["team_id"] = int(form["team"]) if form["team"].isdigit() else -1
    if form["assignee"]:
        data["assignee_id"] = int(form["assignee"]) if form["assignee"].isdigit() else -1
    tags = [t for t in form["tags"].replace(",", " ").split() if t]
    try:
        data["tags"] = [normalise_tag(t) for t in tags]
    except ValueError:
        errors["tags"] = messages["tags"]
    return data


@router.post("/tickets/new")
async def create_ticket(
    page: StaffPage,
    customer_id: Annotated[str, Form()] = "",
    new_email: Annotated[str, Form(max_length=400)] = "",
    new_name: Annotated[str, Form(max_length=400)] = "",
    subject: Annotated[str, Form(max_length=2000)] = "",
    channel: Annotated[str, Form()] = "phone",
    first_message: Annotated[str, Form()] = "customer",
    body: Annotated[str, Form(max_length=200_000)] = "",
    priority: Annotated[str, Form()] = "normal",
    team: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
    tags: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    assert page.signed_in is not None
    form = {
        "customer_id": customer_id,
        "new_email": new_email,
        "new_name": new_name,
        "subject": subject,
        "channel": channel,
        "first_message": first_message,
        "body": body,
        "priority": priority,
        "team": team,
        "assignee": assignee,
        "tags": tags,
    }
    messages = _messages(page)
    errors: dict[str, str] = {}
    data = _data(form, errors, messages)
    try:
        create = TicketCreate.model_validate(data)
    except ValidationError as invalid:
        for item in invalid.errors():
            loc = [str(part) for part in item["loc"]]
            field = "new_email" if loc[:2] == ["customer", "email"] else FORM_FIELDS.get(loc[0] if loc else "", "")
            if field:
                errors.setdefault(field, messages[field])
    if errors:
        chosen = int(customer_id) if customer_id.isdigit() else None
        return await _render(page, status_code=422, customer_id=chosen, form=form, errors=errors)
    try:
        async with unit_of_work(page.request.app.state.runtime, writes=True) as session:
            ticket_id = await run_in_threadpool(
                lambda: service.create_ticket(session, page.signed_in.actor, data=create).id  # type: ignore[union-attr]
            )
    except Invalid as invalid:
        for detail in invalid.details or [{"field": "customer"}]:
            field = FORM_FIELDS.get(str(detail.get("field", "")), "customer")
            errors[field] = messages[field]
        chosen = int(customer_id) if customer_id.isdigit() else None
        return await _render(page, status_code=422, customer_id=chosen, form=form, errors=errors)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
