"""The workspace's organization pages: the list, one organization with its people and tickets,
creating and editing (for the roles the customers service lets change them)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, may_change_customers
from okno.customers import service
from okno.customers.models import Plan
from okno.customers.schemas import OrganizationCreate, OrganizationUpdate
from okno.customers.views import run_read, run_write
from okno.db import utcnow
from okno.errors import Conflict, Invalid
from okno.schemas import Id
from okno.tickets import queries as ticket_queries
from okno.web.pages import Page, StaffPage, check_csrf

router = APIRouter(include_in_schema=False)
PEOPLE_PER_PAGE = 50
RECENT_TICKETS = 20


def _list(session: Session, actor: Actor) -> dict[str, Any]:
    organizations = service.list_organizations(session, actor)
    return {
        "organizations": organizations,
        "people": service.customer_counts(session, actor, {o.id for o in organizations}),
        "can_change": may_change_customers(actor),
    }


async def _render_list(
    page: Page, *, status_code: int = 200, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None
) -> Response:
    context = await run_read(page, _list)
    return page.render(
        "customers/organizations.html",
        status_code,
        section="customers",
        errors=errors or {},
        form=form or {},
        plans=[p.value for p in Plan],
        **context,
    )


@router.get("/organizations")
async def organizations_page(page: StaffPage) -> Response:
    return await _render_list(page)


def _domains(text: str) -> list[str]:
    return [d.strip().lstrip("@") for d in text.replace(",", " ").split() if d.strip()]


def _errors(page: Page, error: Exception) -> dict[str, str]:
    if isinstance(error, Conflict):
        return {"name": page.gettext("An organization with this name exists already.")}
    if isinstance(error, ValidationError):
        fields = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    else:
        fields = {str(d.get("field", "name")) for d in (getattr(error, "details", None) or [{"field": "name"}])}
    messages = {
        "name": page.gettext("Enter a name (up to 200 characters)."),
        "domains": page.gettext("List at most 50 domains, separated by spaces or commas."),
        "plan": page.gettext("Choose a plan from the list."),
    }
    return {field: messages.get(field, page.gettext("Check this value.")) for field in fields}


FormModel = TypeVar("FormModel", OrganizationCreate, OrganizationUpdate)


def _invalid_domain(domains: list[str]) -> bool:
    return any("." not in d or "@" in d or "/" in d or len(d) > 253 for d in domains)


def _checked(model: type[FormModel], form: dict[str, Any]) -> FormModel:
    """The organization form as the service's input; a domain that is no domain names its field."""
    data = model(
        name=str(form["name"]).strip(),
        domains=_domains(str(form["domains"])),
        plan=form["plan"],
        shared_tickets=bool(form["shared_tickets"]),
    )
    if _invalid_domain(data.domains or []):
        raise Invalid("domains", field="domains")
    return data


@router.post("/organizations")
async def create_organization(
    page: StaffPage,
    name: Annotated[str, Form(max_length=1000)] = "",
    domains: Annotated[str, Form(max_length=20_000)] = "",
    plan: Annotated[str, Form()] = "free",
    shared_tickets: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    form = {"name": name, "domains": domains, "plan": plan, "shared_tickets": shared_tickets}
    try:
        data = _checked(OrganizationCreate, form)
        created = await run_write(page, lambda s, a: service.create_organization(s, a, data=data).id)
    except (ValidationError, Invalid, Conflict) as error:
        return await _render_list(page, status_code=422, errors=_errors(page, error), form=form)
    return RedirectResponse(f"/organizations/{created}?saved=1", status_code=303)


def _organization(session: Session, actor: Actor, organization_id: int, after: int | None) -> dict[str, Any]:
    organization = service.get_organization(session, actor, organization_id)
    people = service.list_customers(
        session, actor, q=None, after_id=after, limit=PEOPLE_PER_PAGE + 1, organization_id=organization_id
    )
    filters = ticket_queries.TicketFilters(organization_id=organization_id)
    tickets, _cursor = ticket_queries.list_tickets(session, actor, filters, limit=RECENT_TICKETS)
    return {
        "organization": organization,
        "customers": [service.to_read(c) for c in people[:PEOPLE_PER_PAGE]],
        "next_cursor": people[PEOPLE_PER_PAGE - 1].id if len(people) > PEOPLE_PER_PAGE else None,
        "people_count": service.customer_counts(session, actor, {organization_id}).get(organization_id, 0),
        "tickets": ticket_queries.to_reads(session, tickets),
        "ticket_count": ticket_queries.count_tickets(session, actor, filters),
        "can_change": may_change_customers(actor),
        "now": utcnow(session),
    }


async def _render_organization(
    page: Page,
    organization_id: int,
    *,
    status_code: int = 200,
    after: int | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    notice: str | None = None,
) -> Response:
    context = await run_read(page, _organization, organization_id, after)
    return page.render(
        "customers/organization.html",
        status_code,
        section="customers",
        errors=errors or {},
        form=form or {},
        notice=notice,
        plans=[p.value for p in Plan],
        **context,
    )


@router.get("/organizations/{organization_id}")
async def organization_page(
    page: StaffPage, organization_id: Id, cursor: Id | None = None, saved: str | None = None
) -> Response:
    notice = page.gettext("Organization saved.") if saved else None
    return await _render_organization(page, organization_id, after=cursor, notice=notice)


@router.post("/organizations/{organization_id}")
async def update_organization(
    page: StaffPage,
    organization_id: Id,
    name: Annotated[str, Form(max_length=1000)] = "",
    domains: Annotated[str, Form(max_length=20_000)] = "",
    plan: Annotated[str, Form()] = "free",
    shared_tickets: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(page, csrf_token)
    form = {"name": name, "domains": domains, "plan": plan, "shared_tickets": shared_tickets}
    try:
        changes = _checked(OrganizationUpdate, form)
        await run_write(page, lambda s, a: service.update_organization(s, a, organization_id, changes=changes))
    except (ValidationError, Invalid, Conflict) as error:
        return await _render_organization(
            page, organization_id, status_code=422, errors=_errors(page, error), form=form
        )
    return RedirectResponse(f"/organizations/{organization_id}?saved=1", status_code=303)
