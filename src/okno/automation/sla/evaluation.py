"""Keeping each ticket's SLA targets up to date: their state rows, the warnings, the breach events.

``evaluate`` works the whole clock out again from the ticket's history (``clock.clocks``) and
writes the difference, so running it twice changes nothing the second time. It runs as the
SLA reaction to every ticket change, and from the sweep for targets that come due while their
ticket stands still. Both lock the ticket's row first (``tickets.history.read(lock=True)``),
so two workers on one ticket take turns.

Warnings and breaches happen once per target: each is claimed with a conditional UPDATE
(``... WHERE warned_at IS NULL``) and only the transaction whose UPDATE changed the row goes on
to notify or to record the event. Under two workers the second UPDATE waits for the first to
commit (PostgreSQL row lock; SQLite writers are serial) and then matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import queries as accounts_queries
from okno.accounts.permissions import Actor, TicketFacts, may_see_ticket
from okno.automation.sla import clock, policies
from okno.automation.sla.models import SlaTarget
from okno.automation.sla.timing import timing_for
from okno.notifications import service as notifications
from okno.tickets import events, history
from okno.tickets.events import EventKind

# The events the clock reads; those whose change means working the targets out again; its own.
CLOCK_EVENTS = frozenset(
    {"created", "message_received", "reply_sent", "status_changed", "marked_spam", "unmarked_spam"}
)
RECOMPUTING_EVENTS = frozenset({"priority_changed", "plan_changed", "team_changed", "customer_changed"})
OWN_EVENTS = frozenset({"sla_targets_changed", "sla_warning", "sla_breached"})
SWEEP_BATCH = 500


def actor() -> Actor:
    return Actor.system("sla")


def history_of(found: history.TicketHistory) -> clock.History:
    """The clock's facts from the ticket's events. Replies count only when an agent wrote them."""
    created = next((e for e in found.events if e.kind == "created"), None)
    opening_message = created.data.get("message_id") if created else None
    outbound = any(e.kind == "reply_sent" and e.data.get("message_id") == opening_message for e in found.events)
    facts = []
    for event in found.events:
        if event.kind == "status_changed":
            facts.append(clock.Fact(event.occurred_at, clock.FactKind.status, str(event.data.get("new"))))
        elif event.kind == "reply_sent" and event.actor_type == "user":
            if not (outbound and event.data.get("message_id") == opening_message):
                facts.append(clock.Fact(event.occurred_at, clock.FactKind.agent_reply))
        elif event.kind == "message_received":
            facts.append(clock.Fact(event.occurred_at, clock.FactKind.customer_message))
        elif event.kind == "marked_spam":
            facts.append(clock.Fact(event.occurred_at, clock.FactKind.spam))
        elif event.kind == "unmarked_spam":
            facts.append(clock.Fact(event.occurred_at, clock.FactKind.not_spam))
    return clock.History(
        created_at=created.occurred_at if created else found.created_at,
        status=str(created.data.get("status", "new")) if created else "new",
        facts=tuple(facts),
        opened_by_customer=not outbound,
    )


def subject_of(found: history.TicketHistory) -> policies.Subject:
    return policies.Subject(found.priority, found.customer_plan, found.channel, found.team_id)


def work_out(
    session: Session, found: history.TicketHistory, rules: Sequence[policies.Policy], now: datetime
) -> tuple[policies.Policy | None, list[clock.TargetClock]]:
    """The policy that applies to the ticket and its targets as of ``now`` (none without a policy, or in spam)."""
    policy = None if found.in_spam else policies.choose(rules, subject_of(found))
    if policy is None:
        return None, []
    timing = timing_for(session, business_hours=policy.business_hours, team_id=found.team_id)
    terms = policies.terms(policy, found.priority)
    return policy, clock.clocks(history_of(found), terms, now, timing.measure)


def evaluate(
    session: Session,
    ticket_id: int,
    *,
    now: datetime,
    rules: Sequence[policies.Policy],
    warning_lead: timedelta,
    changed: frozenset[str] = frozenset(),
) -> list[SlaTarget]:
    """Brings the ticket's target rows in line with its history; ``changed`` are the kinds of the new events."""
    found = history.read(session, ticket_id, kinds=CLOCK_EVENTS, lock=True)
    if found is None:
        return []
    policy, computed = work_out(session, found, rules, now)
    stored = {
        (row.kind, row.cycle): row
        for row in session.scalars(sa.select(SlaTarget).where(SlaTarget.ticket_id == ticket_id))
    }
    before = {key: (row.due_at, row.policy_id) for key, row in stored.items()}
    rows: list[SlaTarget] = []
    for target in computed:
        row = stored.pop((target.kind.value, target.cycle), None)
        if row is None:
            row = SlaTarget(ticket_id=ticket_id, kind=target.kind.value, cycle=target.cycle)
            session.add(row)
        _apply(row, target, policy, now)
        rows.append(row)
    for gone in stored.values():  # targets the policy no longer sets (or no policy applies)
        session.delete(gone)
    session.flush()
    if before and (changed & RECOMPUTING_EVENTS or {p for _d, p in before.values()} != {policy and policy.id}):
        _record_change(session, ticket_id, before, rows, policy)
    for row in rows:
        if row.outcome == clock.Outcome.breached and row.breach_recorded_at is None:
            _record_breach(session, row, now)
        elif _warn_now(row, now, warning_lead):
            _warn(session, found, row, now)
    due = clock.next_due(computed)
    if due != found.sla_due_at:
        history.set_sla_due(session, ticket_id, due)
    return rows


def _apply(row: SlaTarget, target: clock.TargetClock, policy: policies.Policy | None, now: datetime) -> None:
    values: dict[str, Any] = {
        "policy_id": policy.id if policy else None,
        "business_hours": bool(policy and policy.business_hours),
        "target_minutes": int(target.target.total_seconds() // 60),
        "started_at": target.started_at,
        "due_at": target.due_at,
        "paused": target.paused,
        "elapsed_seconds": int(target.elapsed.total_seconds()),
        "paused_seconds": int(target.paused_for.total_seconds()),
        "remaining_seconds": int(target.remaining.total_seconds()),
        "achieved_at": target.achieved_at,
        "breached_at": target.breached_at,
        "outcome": target.outcome.value,
    }
    for name, value in values.items():
        if getattr(row, name, None) != value:
            setattr(row, name, value)
    row.evaluated_at = now


def _record_change(
    session: Session,
    ticket_id: int,
    before: dict[tuple[str, int], tuple[datetime | None, int | None]],
    rows: list[SlaTarget],
    policy: policies.Policy | None,
) -> None:
    after = {(row.kind, row.cycle): row for row in rows}
    moved = [
        {
            "target": kind,
            "cycle": cycle,
            "old_due_at": before.get((kind, cycle), (None, None))[0],
            "new_due_at": due,
            "paused": bool(row and row.paused),
        }
        for (kind, cycle) in sorted(set(before) | set(after))
        for row in [after.get((kind, cycle))]
        for due in [row.due_at if row else None]
        if before.get((kind, cycle), (None, None))[0] != due
    ]
    old_policy = next((p for _d, p in before.values() if p is not None), None)
    if not moved and old_policy == (policy.id if policy else None):
        return
    events.record(
        session,
        ticket_id=ticket_id,
        kind=EventKind.sla_targets_changed,
        actor=actor(),
        data={"old_policy_id": old_policy, "new_policy_id": policy.id if policy else None, "targets": moved},
    )


def _claim(session: Session, row: SlaTarget, column: Any, now: datetime) -> bool:
    """Sets ``column`` to now if nobody has yet; True for the one transaction that did."""
    result = session.execute(
        sa.update(SlaTarget).where(SlaTarget.id == row.id, column.is_(None)).values({column.key: now})
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _record_breach(session: Session, row: SlaTarget, now: datetime) -> None:
    if row.breached_at is None or not _claim(session, row, SlaTarget.breach_recorded_at, now):
        return
    events.record(
        session,
        ticket_id=row.ticket_id,
        kind=EventKind.sla_breached,
        actor=actor(),
        data={"target": row.kind, "cycle": row.cycle, "policy_id": row.policy_id, "due_at": row.breached_at},
        occurred_at=row.breached_at,
    )


def _warn_now(row: SlaTarget, now: datetime, lead: timedelta) -> bool:
    if row.warned_at is not None or row.outcome != clock.Outcome.running or row.due_at is None:
        return False
    return now < row.due_at <= now + lead


def _warn(session: Session, found: history.TicketHistory, row: SlaTarget, now: datetime) -> None:
    """The assignee and the team's supervisors (who may see the ticket) hear that a target is due soon."""
    if row.due_at is None or not _claim(session, row, SlaTarget.warned_at, now):
        return
    wanted = accounts_queries.supervisor_ids(session, found.team_id)
    if found.assignee_id is not None:
        wanted.add(found.assignee_id)
    facts = TicketFacts(
        team_id=found.team_id, assignee_id=found.assignee_id, customer_id=0, customer_organization_id=None
    )
    people = accounts_queries.staff_actors(session, wanted)
    notified = sorted(user_id for user_id, person in people.items() if may_see_ticket(person, facts))
    notifications.notify_sla_warning(session, user_ids=notified, ticket_id=row.ticket_id, target=row.kind)
    events.record(
        session,
        ticket_id=row.ticket_id,
        kind=EventKind.sla_warning,
        actor=actor(),
        data={
            "target": row.kind,
            "cycle": row.cycle,
            "policy_id": row.policy_id,
            "due_at": row.due_at,
            "notified_user_ids": notified,
        },
    )


def sweep(
    session: Session,
    *,
    now: datetime,
    rules: Sequence[policies.Policy],
    warning_lead: timedelta,
    limit: int = SWEEP_BATCH,
) -> int:
    """Looks again at tickets with a target past due and not yet recorded as breached, or due soon and not yet
    warned about. Both searches run on partial indexes that hold only such targets. Returns how many tickets."""
    unrecorded = (
        sa.select(SlaTarget.ticket_id)
        .where(SlaTarget.achieved_at.is_(None), SlaTarget.breach_recorded_at.is_(None), SlaTarget.due_at < now)
        .order_by(SlaTarget.due_at)
        .limit(limit)
    )
    unwarned = (
        sa.select(SlaTarget.ticket_id)
        .where(
            SlaTarget.achieved_at.is_(None),
            SlaTarget.warned_at.is_(None),
            SlaTarget.due_at > now,
            SlaTarget.due_at <= now + warning_lead,
        )
        .order_by(SlaTarget.due_at)
        .limit(limit)
    )
    # In id order: two sweeps (or a sweep and a request) lock tickets in one order, never crosswise.
    ticket_ids = sorted(set(session.scalars(unrecorded)) | set(session.scalars(unwarned)))[:limit]
    for ticket_id in ticket_ids:
        evaluate(session, ticket_id, now=now, rules=rules, warning_lead=warning_lead)
    return len(ticket_ids)
