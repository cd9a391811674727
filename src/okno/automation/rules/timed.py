"""Time-based rules: "pending for 3 days → remind", run by the scheduler, once per ticket per state.

Every minute the periodic job ``rules.timed`` walks the active time-based rules. For each, the
tickets that have been in the rule's state long enough, and for which it has not fired in this
stretch of the state, come from an indexed query, longest in the state first, ``BATCH`` at a
time. Tickets it fired for are left out in the query (its firings' unique key serves that), so a
desk with many tickets long in a state costs one query a minute, not a batch job per ``BATCH`` of
them. A full batch queues ``rules.timed_batch`` for the rest, continuing after its last (since,
id), so one run never holds a long transaction and a large backlog is worked through in steps
that each commit. A batch's tickets are locked in one query; one that another unit of work holds
is left for the next run.

Once per ticket per state: the firing is a ``rule_firings`` row keyed by (rule, ticket, when the
state began), written with ``INSERT … ON CONFLICT DO NOTHING`` before the actions run in the
same transaction. Two workers, or a retried job, that reach the same ticket write the key once;
the one that does not get the row does nothing. A ticket that leaves the state and comes back
has a new start, so the rule can fire again for that new stretch.

Business time: with ``business_time`` the time in the state counts only the ticket's team's
business hours (``automation.business_hours``; no calendar means always open). Business time
never exceeds calendar time, so the query's calendar cut-off finds every candidate and the exact
business time is then checked for each.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okno.automation.business_hours import calendar as business_calendar
from okno.automation.business_hours import service as business_hours
from okno.automation.rules import actions, conditions, facts
from okno.automation.rules.engine import active_rules, record_failure
from okno.automation.rules.models import Rule, RuleFiring, RuleKind
from okno.db import utcnow
from okno.errors import OknoError
from okno.jobs.registry import enqueue
from okno.tickets import access, automation_facts

if TYPE_CHECKING:
    from okno.config import Settings

log = logging.getLogger(__name__)

JOB = "rules.timed"
BATCH_JOB = "rules.timed_batch"
BATCH = 200
EVERY_SECONDS = 60


def business_time_between(session: Session, team_id: int | None, start: datetime, end: datetime) -> timedelta:
    """Business time of the team's calendar between two instants; calendar time without calendars."""
    calendar = business_hours.calendar_for_team(session, team_id)
    if calendar is None:
        return end - start
    return business_calendar.business_time_between(calendar, start, end)


def _claim(session: Session, rule: Rule, ticket_id: int, since: datetime, now: datetime) -> int | None:
    """Writes the firing; its id, or None when this (rule, ticket, state) fired already."""
    table = cast(sa.Table, RuleFiring.__table__)
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    statement = (
        insert.values(rule_id=rule.id, ticket_id=ticket_id, anchor_at=since, fired_at=now, error=None)
        .on_conflict_do_nothing(index_elements=["rule_id", "ticket_id", "anchor_at"])
        .returning(table.c.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _fire(session: Session, rule: Rule, ticket_id: int, since: datetime, now: datetime, settings: Settings) -> bool:
    timeout = settings.rule_regex_timeout_ms / 1000
    current = facts.load(session, ticket_id, needs=conditions.fields_used(rule.conditions), at=now)
    if current is None or not conditions.matches(rule.conditions, current, timeout=timeout):
        return False  # asked again next time: the other conditions may hold later in the same state
    firing_id = _claim(session, rule, ticket_id, since, now)
    if firing_id is None:
        return False  # fired already, by another worker or an earlier run
    try:
        with session.begin_nested():
            actions.carry_out(session, rule, ticket_id, settings=settings)
    except OknoError as error:
        # The firing stays (with the reason): a refused action is not tried again every minute.
        record_failure(session, rule, ticket_id, error)
        session.execute(sa.update(RuleFiring).where(RuleFiring.id == firing_id).values(error=error.message[:2000]))
        return False
    return True


# Where a walk goes on: (since, ticket id) of the last ticket of the previous batch.
Cursor = tuple[datetime, int]


def sweep(
    session: Session, rule: Rule, settings: Settings, *, after: Cursor | None = None
) -> tuple[int, Cursor | None]:
    """One batch of one rule: (how many fired, where to continue, or None when done)."""
    timer = rule.timer
    now = utcnow(session)
    threshold = timedelta(minutes=int(timer["minutes"]))
    candidates = automation_facts.in_state_since(
        session,
        str(timer["state"]),
        before=now - threshold,
        after=after,
        limit=BATCH,
        unless=lambda ticket_id, since: sa.exists().where(
            RuleFiring.rule_id == rule.id, RuleFiring.ticket_id == ticket_id, RuleFiring.anchor_at == since
        ),
    )
    if not candidates:
        return 0, None
    business = timer.get("business_time")
    due = [
        candidate
        for candidate in candidates
        if not (business and business_time_between(session, candidate.team_id, candidate.since, now) < threshold)
    ]
    # Locked together, not one query per ticket; one that someone is changing right now waits for the next run.
    locked = access.lock_available(session, [candidate.ticket_id for candidate in due])
    fired = 0
    for candidate in due:
        if candidate.ticket_id in locked:
            fired += _fire(session, rule, candidate.ticket_id, candidate.since, now, settings)
    last = candidates[-1]
    return fired, (last.since, last.ticket_id) if len(candidates) == BATCH else None


def run(session: Session, settings: Settings, *, rule_id: int | None = None, after: Cursor | None = None) -> int:
    """All time-based rules (or one, from a cursor); queues the next batch of a rule that has more."""
    rules = active_rules(session, RuleKind.timed)
    if rule_id is not None:
        rules = [r for r in rules if r.id == rule_id]
    fired = 0
    for rule in rules:
        count, more = sweep(session, rule, settings, after=after)
        fired += count
        if more is not None:
            minute = int(utcnow(session).timestamp()) // EVERY_SECONDS
            since, ticket_id = more
            payload = {"rule_id": rule.id, "after_since": since.isoformat(), "after_id": ticket_id}
            enqueue(session, BATCH_JOB, payload, key=f"{BATCH_JOB}:{rule.id}:{ticket_id}:{minute}")
    if fired:
        log.info("time-based rules fired %s times", fired)
    return fired


def batch_cursor(payload: dict[str, Any]) -> Cursor | None:
    """Where a ``rules.timed_batch`` job goes on, from the payload ``run`` gave it.

    A batch queued before walks went by (since, id) carries an id alone: it starts the walk over,
    which finds only the tickets not fired for yet.
    """
    since = payload.get("after_since")
    return (datetime.fromisoformat(since), int(payload["after_id"])) if since else None
