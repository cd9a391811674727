"""JSON routes for the spam filter (administrators): its settings and its rules.

Marking a ticket as spam and back is on the ticket: ``POST``/``DELETE /api/v1/tickets/{id}/spam``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from okno.channels.spam import service
from okno.channels.spam.schemas import SpamRuleIn, SpamRuleRead, SpamRuleUpdate, SpamSettingsRead, SpamSettingsUpdate
from okno.http.deps import CurrentActor, DbSession, RuntimeDep
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["spam"])

RULES_HELP = (
    "A rule looks at one `field` (sender: the address; domain: the sender's domain, where `equals` takes its "
    "subdomains too; subject; body) and `match`es it (`contains` and `equals` compare case-folded text, `regex` "
    "searches under a time limit). Its `action`: `score` adds its `weight` (negative counts against spam), "
    "`block` always files into spam, `allow` never (a block wins)."
)


def _timeout(runtime: RuntimeDep) -> float:
    return runtime.settings.rule_regex_timeout_ms / 1000


@router.get("/spam-settings", response_model=SpamSettingsRead, summary="The spam filter's settings")
def get_settings(session: DbSession, actor: CurrentActor) -> SpamSettingsRead:
    return service.get_settings(session, actor)


@router.patch(
    "/spam-settings",
    response_model=SpamSettingsRead,
    summary="Switch the spam filter, or set its threshold",
    description="Mail whose score reaches `threshold` (default 5) opens its ticket in the spam folder.",
)
def update_settings(body: SpamSettingsUpdate, session: DbSession, actor: CurrentActor) -> SpamSettingsRead:
    return service.update_settings(session, actor, changes=body)


@router.get("/spam-rules", response_model=list[SpamRuleRead], summary="List spam rules", description=RULES_HELP)
def list_rules(session: DbSession, actor: CurrentActor) -> list[SpamRuleRead]:
    return [SpamRuleRead.model_validate(r) for r in service.list_rules(session, actor)]


@router.post(
    "/spam-rules", status_code=201, response_model=SpamRuleRead, summary="Create a spam rule", description=RULES_HELP
)
def create_rule(
    body: SpamRuleIn, session: DbSession, actor: CurrentActor, runtime: RuntimeDep, idempotency: IdempotencyDep
) -> Response:
    timeout = _timeout(runtime)
    return idempotency.respond(
        201, lambda: SpamRuleRead.model_validate(service.create_rule(session, actor, data=body, regex_timeout=timeout))
    )


@router.get("/spam-rules/{rule_id}", response_model=SpamRuleRead)
def get_rule(rule_id: Id, session: DbSession, actor: CurrentActor) -> SpamRuleRead:
    return SpamRuleRead.model_validate(service.get_rule(session, actor, rule_id))


@router.patch("/spam-rules/{rule_id}", response_model=SpamRuleRead, summary="Change a spam rule")
def update_rule(
    rule_id: Id, body: SpamRuleUpdate, session: DbSession, actor: CurrentActor, runtime: RuntimeDep
) -> SpamRuleRead:
    rule = service.update_rule(session, actor, rule_id, changes=body, regex_timeout=_timeout(runtime))
    return SpamRuleRead.model_validate(rule)


@router.delete("/spam-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_rule(session, actor, rule_id)
    return Response(status_code=204)
