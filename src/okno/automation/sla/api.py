"""JSON routes for SLA policies."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from okno.automation.sla import service
from okno.automation.sla.schemas import SlaPolicyCreate, SlaPolicyRead, SlaPolicyUpdate
from okno.http.deps import CurrentActor, DbSession
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["sla"])


@router.get(
    "/sla-policies",
    response_model=list[SlaPolicyRead],
    summary="List SLA policies",
    description="In the order they are checked: a ticket falls under the first enabled policy whose conditions "
    "all hold. Staff may read them; admins change them.",
)
def list_policies(session: DbSession, actor: CurrentActor) -> list[SlaPolicyRead]:
    return [service.to_read(p) for p in service.list_policies(session, actor)]


@router.post(
    "/sla-policies",
    status_code=201,
    response_model=SlaPolicyRead,
    summary="Create an SLA policy",
    description="Targets are minutes per target (`first_response`, `next_response`, `resolution`), as a "
    "`default` and per priority (`low` … `urgent`, which win over it). A changed policy applies to each "
    "ticket from its next change, worked out again from the ticket's start.",
)
def create_policy(
    body: SlaPolicyCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(201, lambda: service.to_read(service.create_policy(session, actor, data=body)))


@router.get("/sla-policies/{policy_id}", response_model=SlaPolicyRead, summary="One SLA policy")
def get_policy(policy_id: Id, session: DbSession, actor: CurrentActor) -> SlaPolicyRead:
    return service.to_read(service.get_policy(session, actor, policy_id))


@router.patch(
    "/sla-policies/{policy_id}",
    response_model=SlaPolicyRead,
    summary="Change an SLA policy or move it in the order",
)
def update_policy(policy_id: Id, body: SlaPolicyUpdate, session: DbSession, actor: CurrentActor) -> SlaPolicyRead:
    return service.to_read(service.update_policy(session, actor, policy_id, changes=body))


@router.delete("/sla-policies/{policy_id}", status_code=204, summary="Delete an SLA policy")
def delete_policy(policy_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_policy(session, actor, policy_id)
    return Response(status_code=204)
