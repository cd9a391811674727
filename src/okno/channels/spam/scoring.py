"""The spam score of one message, and whether it goes to the spam folder (pure: no session, no clock).

The score is the sum of the built-in signals (``signals``) and the weights of the admins'
scoring rules that match. Two kinds of rule decide outright instead: *block* (always spam: a
sender an agent blocked) and *allow* (never spam: a partner's domain). Block wins over allow,
because blocking names one sender deliberately while an allow rule usually names a whole domain.
A known sender (someone with an earlier ticket outside the spam folder) is never put in spam by
the score alone: a customer's odd mail is still a customer's mail.

Rule patterns run with the ``regex`` package under a time limit, like the automation rules'
(``automation.rules.conditions.search``): a pattern that runs out of time is no match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from okno.automation.rules.conditions import search
from okno.channels.spam.signals import RULE, Signal, Specimen, builtin

__all__ = ["Outcome", "RuleAction", "RuleField", "RuleMatch", "RuleSpec", "Signal", "Specimen", "Verdict"]

DEFAULT_THRESHOLD = 5.0
RULE_TEXT_LIMIT = 100_000  # characters of the body a rule reads


class RuleField(StrEnum):
    sender = "sender"  # the sender's address
    domain = "domain"  # the sender's domain (equals: that domain and its subdomains)
    subject = "subject"
    body = "body"


class RuleMatch(StrEnum):
    contains = "contains"
    equals = "equals"
    regex = "regex"


class RuleAction(StrEnum):
    score = "score"  # adds its weight (negative: counts against spam)
    block = "block"  # always spam
    allow = "allow"  # never spam, unless blocked


@dataclass(frozen=True)
class RuleSpec:
    id: int
    field: RuleField
    match: RuleMatch
    value: str
    action: RuleAction = RuleAction.score
    weight: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The score with its reasons; the first block and allow rule that matched, if any."""

    score: float
    signals: tuple[Signal, ...]
    blocked_by: int | None = None
    allowed_by: int | None = None


class Outcome(StrEnum):
    blocked = "blocked"  # a block rule: spam
    spam = "spam"  # the score reached the threshold: spam
    allowed = "allowed"  # an allow rule: not spam, whatever the score
    known_sender = "known_sender"  # the score reached the threshold, but the sender is a customer
    clean = "clean"  # below the threshold

    @property
    def is_spam(self) -> bool:
        return self in (Outcome.blocked, Outcome.spam)


def _field_text(specimen: Specimen, field: RuleField) -> str:
    if field == RuleField.sender:
        return specimen.sender
    if field == RuleField.domain:
        return specimen.sender_domain
    if field == RuleField.subject:
        return specimen.subject
    return specimen.text[:RULE_TEXT_LIMIT]


def rule_matches(rule: RuleSpec, specimen: Specimen, *, timeout: float) -> bool:
    """Text is compared case-folded; ``equals`` on a domain also takes its subdomains."""
    text = _field_text(specimen, rule.field)
    if rule.match == RuleMatch.regex:
        return search(rule.value, text, timeout=timeout)
    folded, value = text.casefold().strip(), rule.value.casefold().strip()
    if not value:
        return False
    if rule.match == RuleMatch.contains:
        return value in folded
    if rule.field == RuleField.domain:
        return folded == value or folded.endswith("." + value.lstrip("."))
    return folded == value


def judge(specimen: Specimen, rules: Iterable[RuleSpec], *, timeout: float) -> Verdict:
    """The message's score from the built-in signals and every matching rule."""
    found = list(builtin(specimen))
    blocked_by: int | None = None
    allowed_by: int | None = None
    for rule in rules:
        if not rule_matches(rule, specimen, timeout=timeout):
            continue
        if rule.action == RuleAction.block:
            blocked_by = blocked_by if blocked_by is not None else rule.id
        elif rule.action == RuleAction.allow:
            allowed_by = allowed_by if allowed_by is not None else rule.id
        elif rule.weight:
            found.append(Signal(RULE, rule.weight, rule.id))
    score = round(sum(signal.weight for signal in found), 2)
    return Verdict(score=score, signals=tuple(found), blocked_by=blocked_by, allowed_by=allowed_by)


def decide(verdict: Verdict, *, threshold: float, known_sender: bool) -> Outcome:
    if verdict.blocked_by is not None:
        return Outcome.blocked
    if verdict.allowed_by is not None:
        return Outcome.allowed
    if verdict.score < threshold:
        return Outcome.clean
    return Outcome.known_sender if known_sender else Outcome.spam
