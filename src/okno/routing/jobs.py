"""Routing's background work: the reaction to ticket changes, drains when agents get room, the grace period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import presence
from okno.accounts import queries as accounts_queries
from okno.accounts.models import PresenceStatus
from okno.db import utcnow
from okno.jobs.registry import JobContext, enqueue, job, periodic
from okno.routing import policies, service
from okno.routing.service import DRAIN_JOB, RoutingConfig
from okno.tickets import workload
from okno.tickets.reactions import Change, ChangedEvent, reaction

RETURN_JOB = "routing.return_unanswered"
SWEEP_JOB = "routing.sweep"

# Event kinds after which a ticket may start or stop waiting for an agent, or an agent may get room
# (a ticket back from the spam folder waits like a new one).
ROUTING_KINDS = frozenset(
    {
        *("created", "assigned", "status_changed", "team_changed", "priority_changed", "tags_changed", "reopened"),
        *("merged", "unmarked_spam"),
    }
)


def _is_own_assignment(event: ChangedEvent) -> bool:
    if event.kind == "assigned":
        return event.data.get("reason") == "routed"
    return event.kind == "status_changed" and event.data.get("old") == "new" and event.data.get("new") == "open"


def concerns_routing(events: Sequence[ChangedEvent]) -> bool:
    """Something routing cares about, and not merely routing's own assignment coming back."""
    return any(e.kind in ROUTING_KINDS for e in events) and not all(_is_own_assignment(e) for e in events)


@reaction("routing.assign", order=200, kinds=ROUTING_KINDS, takes=concerns_routing)
def on_ticket_change(session: Session, change: Change, context: JobContext) -> None:
    events, item = workload.change_facts(session, change.ticket_id, change.event_ids)
    if not concerns_routing(events):
        return  # queued for every reaction before they said what they take
    freed: set[int] = set()
    excluded: set[int] = set()
    assignee_freed = False
    for event in events:
        if event.kind == "assigned" and event.data.get("old") is not None:
            freed.add(int(event.data["old"]))
            if event.data.get("new") is None and event.actor_type == "user" and event.actor_id == event.data["old"]:
                excluded.add(int(event.data["old"]))  # they handed it back themselves
        if event.kind == "status_changed":
            was, now = event.data.get("old"), event.data.get("new")
            assignee_freed |= was in policies.LOAD_STATUSES and now not in policies.LOAD_STATUSES
    service.route_item(
        session,
        item,
        config=RoutingConfig.from_settings(context.settings),
        freed_agent_ids=freed,
        assignee_freed=assignee_freed,
        excluded_agent_ids=excluded,
    )


@job(DRAIN_JOB)
def drain(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """Fills the room of an agent (``user_id``: their teams) or of ``team_ids``."""
    team_ids = set(payload.get("team_ids", []))
    if "user_id" in payload:
        team_ids |= accounts_queries.team_ids_of(session, [int(payload["user_id"])]).get(int(payload["user_id"]), set())
    service.drain(session, team_ids, config=RoutingConfig.from_settings(context.settings))


@job(RETURN_JOB)
def return_unanswered(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """An agent went away or offline: once the grace period is over, their unanswered chats go back."""
    user_id = int(payload["user_id"])
    config = RoutingConfig.from_settings(context.settings)
    until = service.unavailable_until(session, user_id, config=config)
    if until is None:
        return  # back online (or never seen): nothing to hand back
    if until > utcnow(session):
        enqueue(
            session, RETURN_JOB, {"user_id": user_id}, key=f"{RETURN_JOB}:{user_id}:{until.isoformat()}", run_at=until
        )
        return
    service.return_unanswered(session, config=config, user_ids=[user_id])


@job(SWEEP_JOB)
def sweep(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """The safety net: hands back chats past the grace period, drains every team that routes automatically.

    Catches what no change announces: a shift that begins, an agent added to a team, a ticket
    skipped because someone held it at the time.
    """
    config = RoutingConfig.from_settings(context.settings)
    service.return_unanswered(session, config=config)
    # One drain for all: it takes all the agents' locks at once, in order.
    service.drain(session, workload.teams_with_waiting(session), config=config)


periodic(SWEEP_JOB, every_seconds=30)


def _presence_changed(session: Session, user_id: int, status: PresenceStatus) -> None:
    if status == PresenceStatus.online:
        enqueue(session, DRAIN_JOB, {"user_id": user_id})
    else:
        enqueue(session, RETURN_JOB, {"user_id": user_id})


presence.on_change("routing", _presence_changed)
