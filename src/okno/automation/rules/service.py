"""Managing rules (administrators only): save with every refusal named, order, switch, dry run.

A rule is checked in full before anything is written: its shape by the schemas, its values
without the database (``schemas.problems``: regular expressions are compiled and tried against
hostile inputs under the time limit here), then what needs the database (the team, the user,
the macro, the custom field exist). All refusals come back at once, each with its field path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, require_admin
from okno.automation.macros import service as macros_service
from okno.automation.rules import conditions, facts
from okno.automation.rules.models import Rule, RuleKind
from okno.automation.rules.schemas import (
    Action,
    ActionType,
    Conditions,
    Problem,
    RuleCreate,
    RuleUpdate,
    Timer,
    problems,
)
from okno.automation.webhooks import service as webhooks_service
from okno.channels.email import mailboxes
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.errors import Invalid, NotFound, OknoError
from okno.tickets import automation_facts, fields
from okno.tickets.automation_facts import EventFact
from okno.web.i18n import N_

MAX_DRY_RUN = 500


def refuse(found: list[Problem]) -> Invalid:
    error = Invalid(f"The rule cannot be saved: {'; '.join(f'{f}: {r}' for f, r in found)}", field=found[0][0])
    error.details = [{"field": name, "reason": reason} for name, reason in found]
    return error


def list_rules(session: Session, actor: Actor, *, kind: RuleKind | None = None) -> list[Rule]:
    require_admin(actor)
    query = sa.select(Rule).order_by(Rule.kind, Rule.position, Rule.id)
    if kind is not None:
        query = query.where(Rule.kind == kind)
    return list(session.scalars(query))


def get_rule(session: Session, actor: Actor, rule_id: int) -> Rule:
    require_admin(actor)
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound("Rule not found.")
    return rule


def _database_problems(session: Session, actor: Actor, groups: Conditions, actions: list[Action]) -> list[Problem]:
    found: list[Problem] = []
    for group in ("all", "any"):
        for index, condition in enumerate(getattr(groups, group)):
            value, path = condition.value, f"conditions.{group}.{index}.value"
            if value is None or condition.field not in conditions.ID_FIELDS:
                continue
            exists = {
                conditions.ConditionField.team: lambda v: accounts_queries.team_exists(session, v),
                conditions.ConditionField.assignee: lambda v: bool(accounts_queries.user_names(session, {v})),
                conditions.ConditionField.mailbox: lambda v: _mailbox_exists(session, actor, v),
                conditions.ConditionField.organization: lambda v: bool(
                    customers_queries.organization_names(session, {v})
                ),
            }[condition.field](value)
            if not exists:
                found.append((path, N_("nothing with this id exists")))
    for index, action in enumerate(actions):
        path, value = f"actions.{index}.value", action.value
        if (
            action.type == ActionType.set_team
            and value is not None
            and not accounts_queries.team_exists(session, value)
        ):
            found.append((path, N_("no such team")))
        elif action.type == ActionType.set_assignee and value != "nobody":
            if not accounts_queries.is_assignable(session, value):
                found.append((path, N_("the assignee must be an active agent, supervisor or admin")))
        elif action.type == ActionType.apply_macro:
            try:
                macro = macros_service.get_macro(session, actor, value)
            except NotFound:
                found.append((path, N_("no such macro")))
            else:
                if macro.scope == "personal":
                    found.append((path, N_("a rule may apply only team and shared macros")))
        elif action.type == ActionType.call_webhook:
            try:
                webhooks_service.get_subscription(session, actor, value)
            except NotFound:
                found.append((path, N_("no such webhook")))
        elif action.type == ActionType.set_custom_field:
            try:
                fields.validate_custom_fields(session, {value["key"]: value["value"]})
            except OknoError as refused:
                found.append((path, refused.message))
    return found


def _mailbox_exists(session: Session, actor: Actor, mailbox_id: int) -> bool:
    try:
        mailboxes.get_mailbox(session, actor, mailbox_id)
    except NotFound:
        return False
    return True


def _check(
    session: Session,
    actor: Actor,
    *,
    kind: RuleKind,
    triggers: list[Any],
    timer: Timer | None,
    groups: Conditions,
    actions: list[Action],
    regex_timeout: float,
) -> None:
    found = problems(
        kind=kind, triggers=triggers, timer=timer, conditions=groups, actions=actions, regex_timeout=regex_timeout
    )
    if not found:
        found = _database_problems(session, actor, groups, actions)
    if found:
        raise refuse(found)


def _stored_actions(actions: list[Action]) -> list[dict[str, Any]]:
    stored = []
    for action in actions:
        value = action.value
        if action.type in (ActionType.add_tags, ActionType.remove_tags):
            value = sorted({str(tag).strip().lower() for tag in value})
        stored.append({"type": action.type.value, "value": value})
    return stored


def create_rule(session: Session, actor: Actor, *, data: RuleCreate, regex_timeout: float) -> Rule:
    require_admin(actor)
    _check(
        session,
        actor,
        kind=data.kind,
        triggers=data.triggers,
        timer=data.timer,
        groups=data.conditions,
        actions=data.actions,
        regex_timeout=regex_timeout,
    )
    last = session.scalar(sa.select(sa.func.max(Rule.position)).where(Rule.kind == data.kind)) or 0
    now = utcnow(session)
    rule = Rule(
        kind=data.kind,
        name=data.name,
        description=data.description,
        position=last + 10,
        active=data.active,
        triggers=sorted({t.value for t in data.triggers}),
        timer=data.timer.model_dump(mode="json") if data.timer else {},
        conditions=data.conditions.model_dump(mode="json"),
        actions=_stored_actions(data.actions),
        created_at=now,
        updated_at=now,
        updated_by_id=actor.user_id,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, actor: Actor, rule_id: int, *, changes: RuleUpdate, regex_timeout: float) -> Rule:
    rule = get_rule(session, actor, rule_id)
    given = changes.model_fields_set
    for name in ("name", "active"):
        if name in given and getattr(changes, name) is None:
            raise Invalid("may not be empty", field=name)
    triggers = changes.triggers if changes.triggers is not None else rule.triggers
    timer = changes.timer if "timer" in given else (Timer.model_validate(rule.timer) if rule.timer else None)
    groups = changes.conditions if changes.conditions is not None else Conditions.model_validate(rule.conditions)
    actions = changes.actions if changes.actions is not None else [Action.model_validate(a) for a in rule.actions]
    _check(
        session,
        actor,
        kind=RuleKind(rule.kind),
        triggers=[conditions.Trigger(t) for t in triggers],
        timer=timer,
        groups=groups,
        actions=actions,
        regex_timeout=regex_timeout,
    )
    rule.name = changes.name if changes.name is not None else rule.name
    rule.description = changes.description if changes.description is not None else rule.description
    rule.active = changes.active if changes.active is not None else rule.active
    rule.triggers = sorted({str(t) for t in triggers})
    rule.timer = timer.model_dump(mode="json") if timer else {}
    rule.conditions = groups.model_dump(mode="json")
    rule.actions = _stored_actions(actions)
    rule.last_error = None
    rule.last_error_at = None
    rule.updated_at = utcnow(session)
    rule.updated_by_id = actor.user_id
    session.flush()
    return rule


def set_active(session: Session, actor: Actor, rule_id: int, *, active: bool) -> Rule:
    rule = get_rule(session, actor, rule_id)
    rule.active = active
    rule.updated_at = utcnow(session)
    rule.updated_by_id = actor.user_id
    session.flush()
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    """Deleted for good (its firings with it); events keep its id, which no other rule will get."""
    session.delete(get_rule(session, actor, rule_id))
    session.flush()


def _renumber(rules: list[Rule]) -> None:
    for index, rule in enumerate(rules, start=1):
        rule.position = index * 10


def reorder(session: Session, actor: Actor, *, kind: RuleKind, rule_ids: list[int]) -> list[Rule]:
    """Puts the rules of one kind in the given order; every one of them must be named once."""
    rules = {r.id: r for r in list_rules(session, actor, kind=kind)}
    if sorted(rule_ids) != sorted(rules):
        raise Invalid(f"name every {kind.value} rule exactly once", field="rule_ids")
    ordered = [rules[i] for i in rule_ids]
    _renumber(ordered)
    session.flush()
    return ordered


def move(session: Session, actor: Actor, rule_id: int, *, by: int) -> None:
    """Moves a rule up (by -1) or down (by 1) among the rules of its kind."""
    rule = get_rule(session, actor, rule_id)
    rules = list_rules(session, actor, kind=RuleKind(rule.kind))
    index = rules.index(rule)
    target = min(max(index + by, 0), len(rules) - 1)
    rules.insert(target, rules.pop(index))
    _renumber(rules)
    session.flush()


@dataclass(frozen=True)
class DryRun:
    examined: int
    matched_ids: list[int]


def dry_run(
    session: Session, actor: Actor, *, groups: Conditions, triggers: list[str], last: int, regex_timeout: float
) -> DryRun:
    """Which of the last ``last`` tickets the conditions hold for, as if each had just been opened.

    Read-only: nothing is carried out, nothing is written. A trigger rule that runs only on
    updates is judged on the tickets as they are now.
    """
    require_admin(actor)
    last = max(1, min(last, MAX_DRY_RUN))
    found = problems(
        kind=RuleKind.trigger,
        triggers=[conditions.Trigger.ticket_created],
        timer=None,
        conditions=groups,
        actions=[Action(type=ActionType.add_note, value="dry run")],
        regex_timeout=regex_timeout,
    )
    found = [p for p in found if p[0].startswith("conditions.")]
    if found:
        raise refuse(found)
    stored = groups.model_dump(mode="json")
    needs = conditions.fields_used(stored)
    now = utcnow(session)
    ids = automation_facts.recent_ticket_ids(session, last)
    matched = []
    for ticket_id in ids:
        created = [EventFact(0, "created", "system", None, {})] if "ticket_created" in triggers else []
        current = facts.load(session, ticket_id, needs=needs, at=now, events=created)
        if current is not None and conditions.matches(stored, current, timeout=regex_timeout):
            matched.append(ticket_id)
    return DryRun(examined=len(ids), matched_ids=matched)
