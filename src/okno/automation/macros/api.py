"""JSON routes for macros, and applying one to a ticket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from okno.automation.macros import service
from okno.automation.macros.schemas import MacroApplied, MacroApply, MacroCreate, MacroRead, MacroUpdate
from okno.http.deps import CurrentActor, DbSession
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id
from okno.tickets import queries as ticket_queries

router = APIRouter(prefix="/api/v1", tags=["macros"])

SCOPE_HELP = (
    "mine: your personal macros, your teams' and everyone's (default); personal; team; everyone; "
    "all: every macro you may see (admins and supervisors: every team's)."
)


@router.get("/macros", response_model=list[MacroRead], summary="List macros")
def list_macros(
    session: DbSession,
    actor: CurrentActor,
    scope: Annotated[str, Query(description=SCOPE_HELP)] = "mine",
    active: Annotated[bool, Query(description="Only the macros that are switched on.")] = False,
    sort: Annotated[str, Query(description="title, usage (most used first) or recent (last used first).")] = "title",
) -> list[MacroRead]:
    found = service.list_macros(session, actor, scope=scope, active_only=active, sort=sort)
    return [MacroRead.model_validate(m) for m in found]


@router.post(
    "/macros",
    status_code=201,
    response_model=MacroRead,
    summary="Create a macro",
    description="Placeholders are written `{{customer.first_name}}`; unknown ones are refused, naming the valid "
    "ones. Agents create personal macros; admins and supervisors also team and shared ones.",
)
def create_macro(body: MacroCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    return idempotency.respond(201, lambda: MacroRead.model_validate(service.create_macro(session, actor, data=body)))


@router.get("/macros/{macro_id}", response_model=MacroRead, summary="One macro")
def get_macro(macro_id: Id, session: DbSession, actor: CurrentActor) -> MacroRead:
    return MacroRead.model_validate(service.get_macro(session, actor, macro_id))


@router.patch("/macros/{macro_id}", response_model=MacroRead, summary="Change a macro")
def update_macro(macro_id: Id, body: MacroUpdate, session: DbSession, actor: CurrentActor) -> MacroRead:
    return MacroRead.model_validate(service.update_macro(session, actor, macro_id, changes=body))


@router.delete("/macros/{macro_id}", status_code=204, summary="Delete a macro")
def delete_macro(macro_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_macro(session, actor, macro_id)
    return Response(status_code=204)


@router.post(
    "/tickets/{ticket_id}/macros/{macro_id}",
    status_code=200,
    response_model=MacroApplied,
    summary="Apply a macro to a ticket",
    description="Applies the macro's actions (each recorded as its event, after a `macro_applied` event) and "
    "returns its text rendered for the ticket. With `post: true` the text is also posted as the macro's "
    "reply or note, and a status action goes with the reply.",
)
def apply_macro(
    ticket_id: Id,
    macro_id: Id,
    session: DbSession,
    actor: CurrentActor,
    idempotency: IdempotencyDep,
    body: MacroApply | None = None,
) -> Response:
    post = body.post if body is not None else False

    def produce() -> MacroApplied:
        applied = service.apply_macro(session, actor, ticket_id=ticket_id, macro_id=macro_id, post=post)
        return MacroApplied(
            macro_id=applied.macro.id,
            kind=applied.macro.kind,
            text=applied.rendered.text,
            missing_placeholders=list(applied.rendered.missing),
            message_id=applied.message.id if applied.message is not None else None,
            ticket=ticket_queries.to_reads(session, [applied.ticket])[0],
        )

    return idempotency.respond(200, produce)
