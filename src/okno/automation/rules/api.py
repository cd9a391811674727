"""JSON routes for rules (administrators): list, create, change, order, switch, delete, dry run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from okno.automation.rules import service
from okno.automation.rules.conditions import Trigger
from okno.automation.rules.models import RuleKind
from okno.automation.rules.schemas import (
    Conditions,
    DryRunMatch,
    DryRunRead,
    RuleCreate,
    RuleOrder,
    RuleRead,
    RuleUpdate,
)
from okno.http.deps import CurrentActor, DbSession, RuntimeDep
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id, InputModel
from okno.tickets import queries as ticket_queries
from okno.tickets.access import get_ticket

router = APIRouter(prefix="/api/v1", tags=["rules"])

RULES_HELP = (
    "A rule is `when` (`triggers`: ticket_created, ticket_updated, message_received; or, for a time-based rule, "
    "`timer`: a state and how long), `if` (`conditions`: `all` and `any` groups of `{field, op, value}`) and `then` "
    "(`actions`: a list of `{type, value}`). Refusals name each field, e.g. `conditions.all.0.value`."
)


class DryRunRequest(InputModel):
    conditions: Conditions = Field(default_factory=Conditions)
    triggers: list[Trigger] = Field(default_factory=lambda: [Trigger.ticket_created])
    last: int = Field(default=100, ge=1, le=service.MAX_DRY_RUN)


def _timeout(runtime: RuntimeDep) -> float:
    return runtime.settings.rule_regex_timeout_ms / 1000


@router.get("/rules", response_model=list[RuleRead], summary="List rules", description=RULES_HELP)
def list_rules(
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[RuleKind | None, Query(description="trigger or timed; both when left out.")] = None,
) -> list[RuleRead]:
    return [RuleRead.model_validate(r) for r in service.list_rules(session, actor, kind=kind)]


@router.post("/rules", status_code=201, response_model=RuleRead, summary="Create a rule", description=RULES_HELP)
def create_rule(
    body: RuleCreate, session: DbSession, actor: CurrentActor, runtime: RuntimeDep, idempotency: IdempotencyDep
) -> Response:
    timeout = _timeout(runtime)
    return idempotency.respond(
        201, lambda: RuleRead.model_validate(service.create_rule(session, actor, data=body, regex_timeout=timeout))
    )


@router.put(
    "/rules/order",
    response_model=list[RuleRead],
    summary="Put the rules of one kind in order",
    description="Rules of a kind run in this order; name every rule of the kind once.",
)
def order_rules(
    body: RuleOrder,
    session: DbSession,
    actor: CurrentActor,
    kind: Annotated[RuleKind, Query()] = RuleKind.trigger,
) -> list[RuleRead]:
    return [RuleRead.model_validate(r) for r in service.reorder(session, actor, kind=kind, rule_ids=body.rule_ids)]


def _dry_run_read(session: DbSession, actor: CurrentActor, rule_id: int | None, result: service.DryRun) -> DryRunRead:
    tickets = [get_ticket(session, actor, ticket_id) for ticket_id in result.matched_ids]
    return DryRunRead(
        rule_id=rule_id,
        examined=result.examined,
        matched=[
            DryRunMatch(ticket_id=t.id, number=t.number, subject=t.subject, status=t.status, created_at=t.created_at)
            for t in ticket_queries.to_reads(session, tickets)
        ],
    )


@router.post(
    "/rules/dry-run",
    response_model=DryRunRead,
    summary="Try conditions on recent tickets",
    description="Which of the last `last` tickets the conditions hold for, as if each had just been opened. "
    "Read-only: nothing is changed.",
)
def dry_run(
    body: DryRunRequest, session: DbSession, actor: CurrentActor, runtime: RuntimeDep, idempotency: IdempotencyDep
) -> Response:
    def produce() -> DryRunRead:
        result = service.dry_run(
            session,
            actor,
            groups=body.conditions,
            triggers=[t.value for t in body.triggers],
            last=body.last,
            regex_timeout=_timeout(runtime),
        )
        return _dry_run_read(session, actor, None, result)

    return idempotency.respond(200, produce)


@router.get("/rules/{rule_id}", response_model=RuleRead, summary="One rule")
def get_rule(rule_id: Id, session: DbSession, actor: CurrentActor) -> RuleRead:
    return RuleRead.model_validate(service.get_rule(session, actor, rule_id))


@router.get(
    "/rules/{rule_id}/dry-run",
    response_model=DryRunRead,
    summary="Which recent tickets a saved rule would have matched",
)
def dry_run_rule(
    rule_id: Id,
    session: DbSession,
    actor: CurrentActor,
    runtime: RuntimeDep,
    last: Annotated[int, Query(ge=1, le=service.MAX_DRY_RUN)] = 100,
) -> DryRunRead:
    rule = service.get_rule(session, actor, rule_id)
    result = service.dry_run(
        session,
        actor,
        groups=Conditions.model_validate(rule.conditions),
        triggers=list(rule.triggers),
        last=last,
        regex_timeout=_timeout(runtime),
    )
    return _dry_run_read(session, actor, rule.id, result)


@router.patch("/rules/{rule_id}", response_model=RuleRead, summary="Change a rule (also switch it on or off)")
def update_rule(
    rule_id: Id, body: RuleUpdate, session: DbSession, actor: CurrentActor, runtime: RuntimeDep
) -> RuleRead:
    rule = service.update_rule(session, actor, rule_id, changes=body, regex_timeout=_timeout(runtime))
    return RuleRead.model_validate(rule)


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a rule")
def delete_rule(rule_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_rule(session, actor, rule_id)
    return Response(status_code=204)
