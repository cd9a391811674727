"""Pure rule logic: which conditions exist, whether a ticket meets them, when a rule is triggered.

No session and no clock: the engine gathers a ticket's ``Facts`` and asks here. Text is
compared after Unicode case folding (so "Оплата" contains "оплата"). Regular expressions run
with the ``regex`` package and a time limit, because the standard ``re`` cannot be interrupted
and one careless pattern (``(a|aa)+$``) would otherwise hold a worker for minutes; a search that
runs out of time counts as no match. Patterns are also tried on hostile inputs when a rule is
saved (``check_pattern``), so a pattern that is slow by construction is refused up front.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import regex

from okno.web.i18n import N_

log = logging.getLogger(__name__)

MAX_PATTERN = 500
REGEX_FLAGS = regex.IGNORECASE | regex.UNICODE


class Trigger(StrEnum):
    ticket_created = "ticket_created"
    ticket_updated = "ticket_updated"  # any change to an existing ticket, a customer's message included
    message_received = "message_received"  # a customer wrote on an existing ticket


class ConditionField(StrEnum):
    channel = "channel"
    mailbox = "mailbox"
    subject = "subject"
    body = "body"
    customer_plan = "customer_plan"
    organization = "organization"
    tags = "tags"
    language = "language"
    priority = "priority"
    status = "status"
    team = "team"
    assignee = "assignee"
    business_hours = "business_hours"
    intent = "intent"


class Op(StrEnum):
    is_ = "is"
    is_not = "is_not"
    contains = "contains"
    not_contains = "not_contains"
    contains_any = "contains_any"
    matches = "matches"
    includes = "includes"
    excludes = "excludes"
    changed = "changed"
    changed_to = "changed_to"


TEXT_OPS = (Op.contains, Op.not_contains, Op.contains_any, Op.matches)
OPS: dict[ConditionField, tuple[Op, ...]] = {
    ConditionField.channel: (Op.is_, Op.is_not),
    ConditionField.mailbox: (Op.is_, Op.is_not),
    ConditionField.subject: TEXT_OPS,
    ConditionField.body: TEXT_OPS,
    ConditionField.customer_plan: (Op.is_, Op.is_not),
    ConditionField.organization: (Op.is_, Op.is_not),
    ConditionField.tags: (Op.includes, Op.excludes),
    ConditionField.language: (Op.is_, Op.is_not),
    ConditionField.priority: (Op.is_, Op.is_not, Op.changed_to),
    ConditionField.status: (Op.is_, Op.is_not, Op.changed_to),
    ConditionField.team: (Op.is_, Op.is_not, Op.changed),
    ConditionField.assignee: (Op.is_, Op.is_not, Op.changed),
    ConditionField.business_hours: (Op.is_,),
    ConditionField.intent: (Op.is_, Op.is_not),
}
# Fields whose value is an id (a team, a user, ...) or nothing ("no team").
ID_FIELDS = frozenset(
    {ConditionField.mailbox, ConditionField.organization, ConditionField.team, ConditionField.assignee}
)
# Fields the engine looks up only when some rule asks for them (each costs a query).
COSTLY_FIELDS = frozenset(
    {ConditionField.mailbox, ConditionField.organization, ConditionField.body, ConditionField.business_hours}
)


@dataclass(frozen=True)
class Facts:
    """What conditions may ask about one ticket, as of now; ``changes`` are this change's (old, new) values."""

    ticket_id: int
    channel: str
    subject: str
    customer_plan: str
    tags: frozenset[str]
    language: str | None
    priority: str
    status: str
    team_id: int | None
    assignee_id: int | None
    body: str = ""
    organization_id: int | None = None
    mailbox_id: int | None = None
    business_open: bool | None = None
    # Filled once tickets carry a triage intent; until then no intent condition holds.
    intent: str | None = None
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)


def triggers_of(event_kinds: Iterable[str]) -> frozenset[Trigger]:
    """What a change's events amount to: a new ticket, a customer's message, any other update."""
    kinds = set(event_kinds)
    if not kinds:
        return frozenset()
    if "created" in kinds:
        return frozenset({Trigger.ticket_created})
    found = {Trigger.ticket_updated}
    if "message_received" in kinds:
        found.add(Trigger.message_received)
    return frozenset(found)


def fields_used(conditions: Mapping[str, Any]) -> set[ConditionField]:
    return {ConditionField(c["field"]) for group in ("all", "any") for c in conditions.get(group, [])}


def fold(text: str) -> str:
    return text.casefold()


@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern, REGEX_FLAGS)


def search(pattern: str, text: str, *, timeout: float) -> bool:
    """Whether the pattern occurs in the text; a search that runs out of time is no match."""
    try:
        return compiled(pattern).search(text, timeout=timeout) is not None
    except TimeoutError:
        log.warning("a rule's pattern %r ran out of time (%.0f ms); treated as no match", pattern, timeout * 1000)
        return False


def _hostile_inputs(pattern: str) -> list[str]:
    """Long runs of the pattern's own characters with a spoiler at the end: what makes backtracking explode."""
    letters = sorted({c for c in pattern if c.isalnum()} | {"a", "1", " "})[:12]
    mixed = ("".join(letters) * (4000 // len(letters)))[:4000]
    return [run + spoiler for run in [c * 4000 for c in letters] + [mixed, "word " * 800] for spoiler in ("!", "\x00")]


def check_pattern(pattern: str, *, timeout: float) -> str | None:
    """Why the pattern cannot be saved, or None: too long, not a valid expression, or too slow."""
    if not pattern:
        return N_("write a pattern")
    if len(pattern) > MAX_PATTERN:
        return f"a pattern may have at most {MAX_PATTERN} characters"
    try:
        expression = compiled(pattern)
    except regex.error as exc:
        return f"not a valid regular expression: {exc}"
    for text in _hostile_inputs(pattern):
        try:
            expression.search(text, timeout=timeout)
        except TimeoutError:
            return N_("this pattern is too slow on long texts (it backtracks too much); simplify it")
    return None


def _text(facts: Facts, condition_field: ConditionField) -> str:
    return facts.subject if condition_field == ConditionField.subject else facts.body


def _plain(facts: Facts, condition_field: ConditionField) -> Any:
    return {
        ConditionField.channel: facts.channel,
        ConditionField.mailbox: facts.mailbox_id,
        ConditionField.customer_plan: facts.customer_plan,
        ConditionField.organization: facts.organization_id,
        ConditionField.language: facts.language,
        ConditionField.priority: facts.priority,
        ConditionField.status: facts.status,
        ConditionField.team: facts.team_id,
        ConditionField.assignee: facts.assignee_id,
        ConditionField.intent: facts.intent,
    }[condition_field]


def holds(condition: Mapping[str, Any], facts: Facts, *, timeout: float) -> bool:
    """One condition (``{"field", "op", "value"}``, as validated when saved) on one ticket."""
    name, op, value = ConditionField(condition["field"]), Op(condition["op"]), condition.get("value")
    if name in (ConditionField.subject, ConditionField.body):
        text = fold(_text(facts, name))
        if op == Op.contains:
            return fold(str(value)) in text
        if op == Op.not_contains:
            return fold(str(value)) not in text
        if op == Op.contains_any:
            return any(fold(str(word)) in text for word in value or [])
        return search(str(value), _text(facts, name), timeout=timeout)
    if name == ConditionField.tags:
        present = str(value).lower() in facts.tags
        return present if op == Op.includes else not present
    if name == ConditionField.business_hours:
        return facts.business_open is not None and facts.business_open == (value == "open")
    if op == Op.changed:
        return name.value in facts.changes
    if op == Op.changed_to:
        change = facts.changes.get(name.value)
        return change is not None and change[1] == value
    actual = _plain(facts, name)
    if name == ConditionField.intent and actual is None:
        return False  # no intent known: neither "is" nor "is not" can be said
    return bool(actual == value) if op == Op.is_ else bool(actual != value)


def matches(conditions: Mapping[str, Any], facts: Facts, *, timeout: float) -> bool:
    """All of the ``all`` group, and at least one of the ``any`` group when it has any."""
    if not all(holds(c, facts, timeout=timeout) for c in conditions.get("all", [])):
        return False
    alternatives = conditions.get("any", [])
    return not alternatives or any(holds(c, facts, timeout=timeout) for c in alternatives)
