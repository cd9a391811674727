"""JSON routes for customers, their notes, and organizations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from okno.customers import merge, service
from okno.customers.schemas import (
    CustomerCreate,
    CustomerMergeRequest,
    CustomerMergeResult,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
    NoteCreate,
    NoteRead,
    NoteRevisionRead,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from okno.http.deps import CurrentActor, DbSession
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers", response_model=CustomerPage)
def list_customers(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=200, description="Name, email or other identity.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
) -> CustomerPage:
    rows = service.list_customers(session, actor, q=q, after_id=int(cursor) if cursor else None, limit=limit + 1)
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return CustomerPage(items=[service.to_read(c) for c in rows[:limit]], next_cursor=next_cursor)


@router.post("/customers", status_code=201, response_model=CustomerRead)
def create_customer(
    body: CustomerCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(201, lambda: service.to_read(service.create_customer(session, actor, data=body)))


@router.get("/customers/{customer_id}", response_model=CustomerRead)
def get_customer(customer_id: Id, session: DbSession, actor: CurrentActor) -> CustomerRead:
    return service.to_read(service.get_customer(session, actor, customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerRead)
def update_customer(customer_id: Id, body: CustomerUpdate, session: DbSession, actor: CurrentActor) -> CustomerRead:
    return service.to_read(service.update_customer(session, actor, customer_id, changes=body))


@router.get("/customers/{customer_id}/notes", response_model=list[NoteRead], summary="Notes every agent sees")
def list_notes(customer_id: Id, session: DbSession, actor: CurrentActor) -> list[NoteRead]:
    return [NoteRead.model_validate(n) for n in service.list_notes(session, actor, customer_id)]


@router.post("/customers/{customer_id}/notes", status_code=201, response_model=NoteRead)
def add_note(
    customer_id: Id, body: NoteCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(
        201, lambda: NoteRead.model_validate(service.add_note(session, actor, customer_id, body=body.body))
    )


@router.patch(
    "/customers/{customer_id}/notes/{note_id}",
    response_model=NoteRead,
    summary="Edit a note",
    description="Any agent may correct a shared note; the text it replaces is kept (see `revisions`).",
)
def edit_note(customer_id: Id, note_id: Id, body: NoteCreate, session: DbSession, actor: CurrentActor) -> NoteRead:
    return NoteRead.model_validate(service.edit_note(session, actor, customer_id, note_id, body=body.body))


@router.get(
    "/customers/{customer_id}/notes/{note_id}/revisions",
    response_model=list[NoteRevisionRead],
    summary="A note's earlier texts",
)
def note_revisions(customer_id: Id, note_id: Id, session: DbSession, actor: CurrentActor) -> list[NoteRevisionRead]:
    return [NoteRevisionRead.model_validate(r) for r in service.note_revisions(session, actor, customer_id, note_id)]


@router.post(
    "/customers/{customer_id}/merge",
    status_code=200,
    response_model=CustomerMergeResult,
    summary="Merge this customer record into another one (the same person)",
    description=(
        "Moves the record's identities, notes, tickets (each ticket records a `customer_changed` event), "
        "participations and sign-in accounts to `into_id`. The record itself stays, pointing at the other "
        "one (`merged_into_id`), so history that names it still resolves. Agents, supervisors and admins "
        "only; `409 customer_merged` when either record was already merged."
    ),
)
def merge_customer(
    customer_id: Id, body: CustomerMergeRequest, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    def produce() -> CustomerMergeResult:
        outcome = merge.merge_customers(session, actor, source_id=customer_id, target_id=body.into_id)
        return CustomerMergeResult(
            customer=service.to_read(outcome.target),
            merged_id=outcome.source_id,
            moved_ticket_count=outcome.moved_ticket_count,
            moved_identity_count=outcome.moved_identity_count,
            moved_note_count=outcome.moved_note_count,
        )

    return idempotency.respond(200, produce)


@router.get("/organizations", response_model=list[OrganizationRead], tags=["organizations"])
def list_organizations(session: DbSession, actor: CurrentActor) -> list[OrganizationRead]:
    return [OrganizationRead.model_validate(o) for o in service.list_organizations(session, actor)]


@router.post("/organizations", status_code=201, response_model=OrganizationRead, tags=["organizations"])
def create_organization(
    body: OrganizationCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(
        201, lambda: OrganizationRead.model_validate(service.create_organization(session, actor, data=body))
    )


@router.get("/organizations/{organization_id}", response_model=OrganizationRead, tags=["organizations"])
def get_organization(organization_id: Id, session: DbSession, actor: CurrentActor) -> OrganizationRead:
    return OrganizationRead.model_validate(service.get_organization(session, actor, organization_id))


@router.patch("/organizations/{organization_id}", response_model=OrganizationRead, tags=["organizations"])
def update_organization(
    organization_id: Id, body: OrganizationUpdate, session: DbSession, actor: CurrentActor
) -> OrganizationRead:
    return OrganizationRead.model_validate(service.update_organization(session, actor, organization_id, changes=body))


@router.delete("/organizations/{organization_id}", status_code=204, tags=["organizations"])
def delete_organization(organization_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_organization(session, actor, organization_id)
    return Response(status_code=204)


@router.delete("/customers/{customer_id}", status_code=204, summary="Delete a customer with no history")
def delete_customer(customer_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_customer(session, actor, customer_id)
    return Response(status_code=204)
