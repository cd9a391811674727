"""The ticket event log: every kind of event and the exact shape of its payload.

Payloads hold ids and codes, never personal data (names, addresses, message text,
free-text field values): the log is kept forever and exported for analytics, while
personal data must stay erasable where it lives.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from okno.accounts.permissions import Actor
from okno.db import keep, utcnow
from okno.tickets import reactions
from okno.tickets.models import ActorType, Ticket, TicketEvent

PENDING_EVENTS_KEY = "okno.new_events"


class EventKind(StrEnum):
    created = "created"
    message_received = "message_received"
    reply_sent = "reply_sent"
    note_added = "note_added"
    status_changed = "status_changed"
    assigned = "assigned"
    team_changed = "team_changed"
    priority_changed = "priority_changed"
    tags_changed = "tags_changed"
    field_changed = "field_changed"
    merged = "merged"
    reopened = "reopened"
    follow_up_created = "follow_up_created"
    customer_changed = "customer_changed"
    macro_applied = "macro_applied"
    plan_changed = "plan_changed"
    sla_targets_changed = "sla_targets_changed"
    sla_warning = "sla_warning"
    sla_breached = "sla_breached"
    marked_spam = "marked_spam"
    unmarked_spam = "unmarked_spam"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Created(_Payload):
    channel: str
    status: str
    priority: str
    customer_id: int
    team_id: int | None = None
    assignee_id: int | None = None
    message_id: int | None = None
    follow_up_of_id: int | None = None
    tags: list[str] = []


class MessageAdded(_Payload):
    message_id: int
    channel: str | None = None
    attachment_count: int = 0
    mentioned_user_ids: list[int] = []


class Change(_Payload):
    old: str | int | None
    new: str | int | None


class RoutingCandidate(_Payload):
    user_id: int
    # chosen, excluded, offline, away, off_shift, no_language, missing_skills, at_capacity, less_suited, not_next
    outcome: str
    load: int  # the agent's open conversations on the ticket's channel when routing decided
    capacity: int


class RoutingReason(_Payload):
    """Why routing chose this agent: the team's policy, what was required, every candidate's outcome."""

    policy: str
    team_id: int
    channel: str
    language: str | None = None
    skills: list[str] = []
    candidates: list[RoutingCandidate] = []


class Assigned(_Payload):
    old: int | None
    new: int | None
    reason: str  # manual, team_changed, routed, agent_unavailable, ...
    routing: RoutingReason | None = None  # only when routing decided

    @model_serializer(mode="wrap")
    def _only_routing_when_routed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Payloads of assignments made by people stay exactly as they were before routing existed.
        data: dict[str, Any] = handler(self)
        if data.get("routing") is None:
            data.pop("routing", None)
        return data


class TagsChanged(_Payload):
    added: list[str]
    removed: list[str]


class FieldChanged(_Payload):
    field: str
    # Values only for fields whose values are codes (select, number, boolean, date), not free text.
    old: str | int | float | bool | None = None
    new: str | int | float | bool | None = None


class Merged(_Payload):
    source_ticket_id: int
    target_ticket_id: int
    moved_message_count: int


class Reopened(_Payload):
    old_status: str
    message_id: int | None = None


class FollowUp(_Payload):
    previous_ticket_id: int
    follow_up_ticket_id: int


class CustomerChanged(_Payload):
    """The ticket now belongs to another customer record; ``reason`` is a code ("customers_merged")."""

    old: int
    new: int
    reason: str


class MacroApplied(_Payload):
    """A macro was applied; the changes and the message it made are their own events, just after."""

    macro_id: int


class SlaDueChange(_Payload):
    """One target whose due time moved: ``old_due_at``/``new_due_at`` are None where it had or has none.

    ``paused``: it has none because its clock is paused (the ticket waits on the customer), not
    because the target was met or no longer applies.
    """

    target: str
    cycle: int = 0
    old_due_at: datetime | None = None
    new_due_at: datetime | None = None
    paused: bool = False


class SlaTargetsChanged(_Payload):
    """The SLA targets were worked out again from the ticket's start (its priority, plan or team changed)."""

    old_policy_id: int | None
    new_policy_id: int | None
    targets: list[SlaDueChange]


class SlaTarget(_Payload):
    """One SLA target of the ticket (``target`` is first_response, next_response or resolution; ``cycle``
    counts the next responses); a warning names the staff it notified."""

    target: str
    cycle: int = 0
    policy_id: int | None = None
    due_at: datetime
    notified_user_ids: list[int] = []


class SpamSignal(_Payload):
    """One reason of a spam score: a signal's code (``channels.spam.signals``) and weight, or an admin's rule."""

    code: str
    weight: float
    rule_id: int | None = None


class MarkedSpam(_Payload):
    """Into the spam folder. ``reason``: ``score`` (the filter's score reached ``threshold``), ``blocked``
    (a block rule, ``rule_id``), ``manual`` (an agent). ``blocked_rule_id``: the rule that blocks the
    sender from then on, when the agent chose to block them."""

    reason: str
    score: float | None = None
    threshold: float | None = None
    signals: list[SpamSignal] = []
    rule_id: int | None = None
    blocked_rule_id: int | None = None


class UnmarkedSpam(_Payload):
    """Out of the spam folder, back to the inbox; ``unblocked_rule_ids``: block rules on its sender removed then."""

    unblocked_rule_ids: list[int] = []


PAYLOADS: dict[EventKind, type[_Payload]] = {
    EventKind.created: Created,
    EventKind.message_received: MessageAdded,
    EventKind.reply_sent: MessageAdded,
    EventKind.note_added: MessageAdded,
    EventKind.status_changed: Change,
    EventKind.assigned: Assigned,
    EventKind.team_changed: Change,
    EventKind.priority_changed: Change,
    EventKind.tags_changed: TagsChanged,
    EventKind.field_changed: FieldChanged,
    EventKind.merged: Merged,
    EventKind.reopened: Reopened,
    EventKind.follow_up_created: FollowUp,
    EventKind.customer_changed: CustomerChanged,
    EventKind.macro_applied: MacroApplied,
    EventKind.plan_changed: Change,
    EventKind.sla_targets_changed: SlaTargetsChanged,
    EventKind.sla_warning: SlaTarget,
    EventKind.sla_breached: SlaTarget,
    EventKind.marked_spam: MarkedSpam,
    EventKind.unmarked_spam: UnmarkedSpam,
}


def _pending_events(session: Session) -> list[TicketEvent]:
    # The bulk changes drop the events of a ticket whose savepoint rolled back from this list.
    return list(session.info.get(PENDING_EVENTS_KEY, []))


def record(
    session: Session,
    *,
    ticket_id: int,
    kind: EventKind,
    actor: Actor,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
    actor_override: tuple[ActorType, int | None] | None = None,
) -> TicketEvent:
    """Appends one event in the caller's transaction; it is published once that commits."""
    payload = PAYLOADS[kind].model_validate(data).model_dump(mode="json")
    actor_type, actor_id = actor_override or actor.event_actor
    now = utcnow(session)
    event = TicketEvent(
        ticket_id=ticket_id,
        kind=kind.value,
        actor_type=actor_type,
        actor_id=actor_id,
        occurred_at=occurred_at or now,
        recorded_at=now,
        data=payload,
    )
    session.add(event)
    session.info.setdefault(PENDING_EVENTS_KEY, []).append(event)
    reactions.queue_when_committing(session, _pending_events)
    ticket = session.identity_map.get(identity_key(Ticket, ticket_id))
    if ticket is not None:
        keep(session, ticket)  # the realtime feed reads its visibility facts from it at commit
    return event
