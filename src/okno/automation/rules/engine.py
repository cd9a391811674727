"""Trigger rules as the first reaction to every ticket change (``tickets.reactions``, order 100).

The active trigger rules run in their order on each change whose events match one of their
triggers; each rule whose conditions hold carries out its actions, and the next rule sees the
ticket as the previous ones left it. A rule's actions run in a savepoint: one that is refused
(an assignee no longer on the team) undoes that rule's changes only, and the reason is kept on
the rule for admins; the other rules still run.

Loops: the changes a rule makes are a new change to the ticket, which runs the rules again one
round deeper. Each rule that fires leaves a mark (``rule:<id>``) that every later round of the
same chain carries, and a marked rule does not fire again in that chain: two rules that undo
each other fire once each, then stop. The reactions' own depth limit stops any chain anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.automation.rules import actions, conditions, facts
from okno.automation.rules.models import Rule, RuleKind
from okno.db import utcnow
from okno.errors import OknoError
from okno.jobs.registry import JobContext
from okno.memo import Memo
from okno.tickets import automation_facts, reactions

if TYPE_CHECKING:
    from okno.config import Settings

log = logging.getLogger(__name__)

REACTION = "rules.run"


def mark_of(rule_id: int) -> str:
    return f"rule:{rule_id}"


def active_rules(session: Session, kind: RuleKind) -> list[Rule]:
    query = sa.select(Rule).where(Rule.kind == kind, Rule.active.is_(True)).order_by(Rule.position, Rule.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class TriggerRule:
    """An active trigger rule as every change reads it."""

    id: int
    name: str
    triggers: frozenset[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


def _read_trigger_rules(session: Session, _everything: None) -> tuple[TriggerRule, ...]:
    return tuple(
        TriggerRule(rule.id, rule.name, frozenset(rule.triggers), rule.conditions, rule.actions)
        for rule in active_rules(session, RuleKind.trigger)
    )


# Every change to every ticket asks for them; they change a few times a day (see ``okno.memo``).
TRIGGER_RULES: Memo[None, tuple[TriggerRule, ...]] = Memo("rules.trigger", _read_trigger_rules, reads=(Rule,))


def record_failure(session: Session, rule: actions.ActingRule, ticket_id: int, error: OknoError) -> None:
    log.warning("rule %s (%s) could not act on ticket %s: %s", rule.id, rule.name, ticket_id, error.message)
    stored = session.get(Rule, rule.id)
    if stored is not None:
        stored.last_error = f"#{ticket_id}: {error.message}"[:2000]
        stored.last_error_at = utcnow(session)


def run_on_change(session: Session, change: reactions.Change, settings: Settings) -> list[int]:
    """Runs the trigger rules on one change; returns the ids of the rules that fired."""
    rules = TRIGGER_RULES.get(session, None)
    if not rules:
        return []
    events = automation_facts.events(session, list(change.event_ids))
    triggered = conditions.triggers_of(e.kind for e in events)
    candidates = [rule for rule in rules if triggered & set(rule.triggers) and mark_of(rule.id) not in change.marks]
    if not candidates:
        return []
    needs = set().union(*(conditions.fields_used(rule.conditions) for rule in candidates))
    now = utcnow(session)
    timeout = settings.rule_regex_timeout_ms / 1000
    current = facts.load(session, change.ticket_id, needs=needs, at=now, events=events)
    fired: list[int] = []
    for rule in candidates:
        if current is None:
            break
        if not conditions.matches(rule.conditions, current, timeout=timeout):
            continue
        # Marked before acting: whatever the actions change, this rule sits out the rest of the chain.
        reactions.mark(session, mark_of(rule.id))
        try:
            with session.begin_nested():
                actions.carry_out(session, rule, change.ticket_id, settings=settings, event_ids=list(change.event_ids))
        except OknoError as error:
            record_failure(session, rule, change.ticket_id, error)
            continue
        fired.append(rule.id)
        current = facts.load(session, change.ticket_id, needs=needs, at=now, events=events)
    return fired


def listens_for(session: Session, event_kinds: frozenset[str]) -> bool:
    """Whether an active trigger rule listens for what these events amount to; if none does, no job is queued."""
    triggered = conditions.triggers_of(event_kinds)
    return any(not triggered.isdisjoint(rule.triggers) for rule in TRIGGER_RULES.get(session, None))


@reactions.reaction(REACTION, order=100, wanted=listens_for, wanted_reads=(Rule,))
def react(session: Session, change: reactions.Change, context: JobContext) -> None:
    run_on_change(session, change, context.settings)
