"""Carrying out a rule's actions on one ticket, as the rule.

Every change goes through the services people use (``tickets.changes.update_ticket``,
``tickets.service.add_message``, ``macros.service.apply_macro``), so each is its own event, with
the rule as the actor (``Actor.rule``: actor type ``rule``, actor id the rule's id). Anything
that leaves Okno (an email, a webhook call) is a job queued in the same transaction.

Automatic public replies follow the email channel's RFC 3834 checks: none to a ticket whose
latest mail was itself automatic, bulk or list mail, a bounce or from a no-reply address, and at
most ``OKNO_AUTO_REPLIES_PER_HOUR`` per customer per hour.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor
from okno.automation.macros import render
from okno.automation.macros import service as macros_service
from okno.automation.rules.schemas import ActionType
from okno.automation.webhooks import service as webhooks
from okno.channels.email import acknowledgement
from okno.config import Settings
from okno.db import utcnow
from okno.notifications import service as notifications
from okno.tickets import access, automation_facts
from okno.tickets import changes as ticket_changes
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel, MessageKind
from okno.tickets.schemas import MessageCreate, TicketUpdate

if TYPE_CHECKING:
    from okno.tickets.models import Ticket

log = logging.getLogger(__name__)


class ActingRule(Protocol):
    """What carrying out a rule needs of it: a stored rule, or an active one as remembered."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def actions(self) -> list[dict[str, Any]]: ...


FIELD_ACTIONS = {
    ActionType.set_team: "team_id",
    ActionType.set_priority: "priority",
    ActionType.set_status: "status",
    ActionType.add_tags: "add_tags",
    ActionType.remove_tags: "remove_tags",
}


def actor_for(rule: ActingRule) -> Actor:
    return Actor.rule(rule.id, rule.name)


def _update(session: Session, actor: Actor, ticket_id: int, changes: dict[str, Any]) -> None:
    ticket_changes.update_ticket(session, actor, ticket_id, changes=TicketUpdate.model_validate(changes))


def _texts(session: Session, actor: Actor, ticket: Ticket, template: str) -> str:
    return render.render(template, macros_service.placeholder_values(session, actor, ticket)).text


def _may_auto_reply(session: Session, ticket: Ticket, settings: Settings) -> bool:
    if ticket.channel == Channel.email and not acknowledgement.may_answer_automatically(session, ticket.id):
        log.info("rule reply to ticket %s left out: its latest mail must not be answered automatically", ticket.id)
        return False
    since = utcnow(session) - timedelta(hours=1)
    sent = automation_facts.automatic_replies_since(session, ticket.customer_id, since)
    if sent >= settings.auto_replies_per_hour:
        log.info("rule reply to ticket %s left out: %s automatic replies to the customer this hour", ticket.id, sent)
        return False
    return True


def _send_reply(session: Session, actor: Actor, ticket_id: int, value: dict[str, str], settings: Settings) -> None:
    ticket = access.writable(session, actor, ticket_id)
    if not _may_auto_reply(session, ticket, settings):
        return
    template = value.get(ticket.language or "", "") or value["default"]
    body = _texts(session, actor, ticket, template)
    # The reply keeps the ticket's status: an automatic answer is not an agent taking the ticket up.
    data = MessageCreate(kind=MessageKind.reply, body=body, status=ticket.status)
    tickets_service.add_message(session, actor, ticket_id, data=data)


def _apply_macro(session: Session, actor: Actor, ticket_id: int, macro_id: int) -> None:
    macro = macros_service.get_macro(session, actor, macro_id)
    macros_service.apply_macro(session, actor, ticket_id=ticket_id, macro_id=macro_id, post=bool(macro.body.strip()))


def carry_out(
    session: Session, rule: ActingRule, ticket_id: int, *, settings: Settings, event_ids: list[int] | None = None
) -> None:
    """Every action of the rule on the ticket, in order; one that is refused raises (``OknoError``)."""
    actor = actor_for(rule)
    for action in rule.actions:
        kind = ActionType(action["type"])
        value: Any = action.get("value")
        if kind in FIELD_ACTIONS:
            _update(session, actor, ticket_id, {FIELD_ACTIONS[kind]: value})
        elif kind == ActionType.set_assignee:
            _update(session, actor, ticket_id, {"assignee_id": None if value == "nobody" else value})
        elif kind == ActionType.set_custom_field:
            _update(session, actor, ticket_id, {"custom_fields": {value["key"]: value["value"]}})
        elif kind == ActionType.send_reply:
            _send_reply(session, actor, ticket_id, value, settings)
        elif kind == ActionType.add_note:
            ticket = access.writable(session, actor, ticket_id)
            note = MessageCreate(kind=MessageKind.note, body=_texts(session, actor, ticket, value))
            tickets_service.add_message(session, actor, ticket_id, data=note)
        elif kind == ActionType.apply_macro:
            _apply_macro(session, actor, ticket_id, int(value))
        elif kind == ActionType.call_webhook:
            reason = f"rule {rule.id}: {rule.name}"
            first = min(event_ids) if event_ids else None
            webhooks.send_webhook(
                session, subscription_id=int(value), ticket_id=ticket_id, reason=reason, event_id=first
            )
        elif kind == ActionType.acknowledge:
            ticket = access.get_ticket(session, actor, ticket_id)
            acknowledgement.queue_for_ticket(
                session, ticket_id=ticket_id, language=ticket.language, per_hour=settings.auto_replies_per_hour
            )
        elif kind == ActionType.notify_supervisors:
            ticket = access.get_ticket(session, actor, ticket_id)
            people = accounts_queries.supervisor_ids(session, ticket.team_id)
            notifications.notify_for_rule(session, user_ids=people, ticket_id=ticket_id, rule_id=rule.id)
