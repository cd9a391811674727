"""The spam filter's settings and rules, its verdict on inbound messages, and agents marking tickets.

Admins keep the rules and the threshold. A channel asks ``judge`` about a message that would
open a new ticket, and ``file_if_spam`` puts the new ticket into the spam folder when the verdict
says so (a message that continues a conversation is never judged: the conversation is known).
Agents mark and unmark tickets here too, because marking may block the sender (a block rule),
and unmarking lifts such a block on that sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_admin, require_agent
from okno.automation.rules.conditions import check_pattern
from okno.channels.spam import scoring
from okno.channels.spam.models import SpamRule, SpamSettings
from okno.channels.spam.schemas import SpamRuleIn, SpamRuleUpdate, SpamSettingsRead, SpamSettingsUpdate
from okno.channels.spam.scoring import Outcome, RuleAction, RuleField, RuleMatch, Specimen, Verdict
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.errors import Invalid, NotFound
from okno.tickets import access
from okno.tickets import spam as tickets_spam

if TYPE_CHECKING:
    from okno.tickets.models import Ticket

SETTINGS_ID = 1


def current_settings(session: Session) -> SpamSettingsRead:
    """The installation's settings; the defaults until an admin saves them."""
    row = session.get(SpamSettings, SETTINGS_ID)
    if row is None:
        return SpamSettingsRead(enabled=True, threshold=scoring.DEFAULT_THRESHOLD)
    return SpamSettingsRead.model_validate(row)


def get_settings(session: Session, actor: Actor) -> SpamSettingsRead:
    require_admin(actor)
    return current_settings(session)


def update_settings(session: Session, actor: Actor, *, changes: SpamSettingsUpdate) -> SpamSettingsRead:
    require_admin(actor)
    now = utcnow(session)
    row = session.get(SpamSettings, SETTINGS_ID, with_for_update=True)
    if row is None:
        row = SpamSettings(id=SETTINGS_ID, enabled=True, threshold=scoring.DEFAULT_THRESHOLD)
        session.add(row)
    if changes.enabled is not None:
        row.enabled = changes.enabled
    if changes.threshold is not None:
        row.threshold = changes.threshold
    row.updated_at = now
    row.updated_by_id = actor.user_id
    session.flush()
    return SpamSettingsRead.model_validate(row)


def list_rules(session: Session, actor: Actor) -> list[SpamRule]:
    require_admin(actor)
    return list(session.scalars(sa.select(SpamRule).order_by(SpamRule.id)))


def get_rule(session: Session, actor: Actor, rule_id: int) -> SpamRule:
    require_admin(actor)
    rule = session.get(SpamRule, rule_id)
    if rule is None:
        raise NotFound("Spam rule not found.")
    return rule


def _check(rule: SpamRule, *, regex_timeout: float) -> None:
    """What no model can say alone: a pattern that compiles and is not slow, a weight a score rule needs."""
    if rule.match == RuleMatch.regex:
        problem = check_pattern(rule.value, timeout=regex_timeout)
        if problem is not None:
            raise Invalid(problem, field="value")
    if rule.action == RuleAction.score and not rule.weight:
        raise Invalid("a score rule needs a weight other than 0", field="weight")


def create_rule(session: Session, actor: Actor, *, data: SpamRuleIn, regex_timeout: float) -> SpamRule:
    require_admin(actor)
    now = utcnow(session)
    rule = SpamRule(
        **data.model_dump(),
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    _check(rule, regex_timeout=regex_timeout)
    session.add(rule)
    session.flush()
    return rule


def update_rule(
    session: Session, actor: Actor, rule_id: int, *, changes: SpamRuleUpdate, regex_timeout: float
) -> SpamRule:
    rule = get_rule(session, actor, rule_id)
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid("leave the field out to keep it", field=name)
        setattr(rule, name, value)
    if rule.action != RuleAction.score:
        rule.weight = 0.0
    _check(rule, regex_timeout=regex_timeout)
    rule.updated_at = utcnow(session)
    session.flush()
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    session.delete(get_rule(session, actor, rule_id))
    session.flush()


@dataclass(frozen=True)
class Judgement:
    """The filter's verdict on one message and what follows from it."""

    outcome: Outcome
    verdict: Verdict
    threshold: float

    def details(self) -> dict[str, Any]:
        """The ``marked_spam`` event's payload: why the filter put the ticket in spam."""
        signals = [{"code": s.code, "weight": s.weight, "rule_id": s.rule_id} for s in self.verdict.signals]
        if self.outcome == Outcome.blocked:
            return {"reason": "blocked", "rule_id": self.verdict.blocked_by, "signals": signals}
        return {"reason": "score", "score": self.verdict.score, "threshold": self.threshold, "signals": signals}


def _rule_specs(session: Session) -> list[scoring.RuleSpec]:
    return [
        scoring.RuleSpec(
            id=row.id,
            field=RuleField(row.field),
            match=RuleMatch(row.match),
            value=row.value,
            action=RuleAction(row.action),
            weight=row.weight,
        )
        for row in session.scalars(sa.select(SpamRule).order_by(SpamRule.id))
    ]


def judge(session: Session, specimen: Specimen, *, customer_id: int, regex_timeout: float) -> Judgement:
    """The verdict on a message that would open a ticket for this customer (switched off: always clean)."""
    config = current_settings(session)
    if not config.enabled:
        return Judgement(Outcome.clean, Verdict(score=0.0, signals=()), config.threshold)
    verdict = scoring.judge(specimen, _rule_specs(session), timeout=regex_timeout)
    # Asked only when the answer can change the outcome: it costs a query.
    known = verdict.score >= config.threshold and tickets_spam.known_sender(session, customer_id)
    return Judgement(scoring.decide(verdict, threshold=config.threshold, known_sender=known), verdict, config.threshold)


def file_if_spam(session: Session, ticket: Ticket, judgement: Judgement) -> bool:
    """Puts a ticket the message just opened into the spam folder when the verdict says so."""
    if not judgement.outcome.is_spam:
        return False
    tickets_spam.file_into_spam(session, ticket, details=judgement.details())
    return True


def _sender_address(session: Session, ticket: Ticket) -> str | None:
    _name, email = customers_queries.summaries(session, {ticket.customer_id}).get(ticket.customer_id, ("", None))
    return email.strip().lower() if email else None


def _block_rules(session: Session, address: str) -> list[SpamRule]:
    return list(
        session.scalars(
            sa.select(SpamRule)
            .where(
                SpamRule.action == RuleAction.block,
                SpamRule.field == RuleField.sender,
                SpamRule.match == RuleMatch.equals,
                sa.func.lower(SpamRule.value) == address,
            )
            .order_by(SpamRule.id)
        )
    )


def _block(session: Session, actor: Actor, ticket: Ticket) -> int:
    """A block rule on the ticket's customer's address (the one there is already, if any)."""
    address = _sender_address(session, ticket)
    if address is None:
        raise Invalid("the customer has no email address to block", field="block_sender")
    existing = _block_rules(session, address)
    if existing:
        return existing[0].id
    now = utcnow(session)
    rule = SpamRule(
        field=RuleField.sender,
        match=RuleMatch.equals,
        value=address,
        action=RuleAction.block,
        weight=0.0,
        note="",
        ticket_id=ticket.id,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    return rule.id


def mark(session: Session, actor: Actor, ticket_id: int, *, block_sender: bool = False) -> Ticket:
    """An agent puts the ticket into spam, and with ``block_sender`` blocks its customer's address too.

    On a ticket already in spam only the block is added: the rule names the ticket and who made it.
    """
    require_agent(actor)
    ticket = access.writable(session, actor, ticket_id)
    blocked_rule_id = _block(session, actor, ticket) if block_sender else None
    details: dict[str, Any] = {"reason": "manual", "blocked_rule_id": blocked_rule_id}
    return tickets_spam.mark(session, actor, ticket.id, details=details)


def unmark(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    """Not spam: back to the inbox; a block on its customer's address goes too, so their next mail arrives."""
    require_agent(actor)
    ticket = access.writable(session, actor, ticket_id)
    lifted: list[int] = []
    address = _sender_address(session, ticket) if ticket.spam_at is not None else None
    if address is not None:
        for rule in _block_rules(session, address):
            lifted.append(rule.id)
            session.delete(rule)
        session.flush()
    return tickets_spam.unmark(session, actor, ticket.id, details={"unblocked_rule_ids": lifted})
