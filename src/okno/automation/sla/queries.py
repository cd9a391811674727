"""The read side of SLA clocks: a ticket's targets for the API and pages, a first response's due time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.automation.sla import clock, evaluation, service
from okno.automation.sla.models import SlaTarget
from okno.automation.sla.schemas import SlaClockRead
from okno.automation.sla.timing import timing_for
from okno.tickets import history


def _read(row: SlaTarget, now: datetime) -> SlaClockRead:
    """The stored state as of ``now``: a running target whose due time passed reads as breached."""
    outcome = clock.Outcome(row.outcome)
    breached_at = row.breached_at
    if outcome == clock.Outcome.running and row.due_at is not None and now > row.due_at:
        outcome, breached_at = clock.Outcome.breached, row.due_at
    remaining: int | None = None
    breached_by: int | None = None
    if outcome == clock.Outcome.running and row.due_at is not None:
        remaining = int((row.due_at - now).total_seconds())
    elif outcome == clock.Outcome.paused:
        remaining = row.remaining_seconds
    elif outcome == clock.Outcome.breached and breached_at is not None:
        breached_by = int(((row.achieved_at or now) - breached_at).total_seconds())
    return SlaClockRead(
        kind=clock.TargetKind(row.kind),
        cycle=row.cycle,
        policy_id=row.policy_id,
        business_hours=row.business_hours,
        target_minutes=row.target_minutes,
        started_at=row.started_at,
        due_at=row.due_at,
        remaining_seconds=remaining,
        breached_by_seconds=breached_by,
        paused=row.paused,
        outcome=outcome,
        achieved_at=row.achieved_at,
        breached_at=breached_at,
    )


# Asked for every page of tickets staff read: built once.
_TARGETS_OF_TICKETS = (
    sa.select(SlaTarget)
    .where(SlaTarget.ticket_id.in_(sa.bindparam("ticket_ids", expanding=True)))
    .order_by(SlaTarget.ticket_id, SlaTarget.cycle)
)
_KIND_ORDER = {kind.value: n for n, kind in enumerate(clock.TargetKind)}


def clocks(session: Session, ticket_ids: Iterable[int], *, now: datetime) -> dict[int, list[SlaClockRead]]:
    """Each ticket's current targets: first response, resolution and its latest next response, in one query."""
    ids = sorted(set(ticket_ids))
    found: dict[int, list[SlaClockRead]] = {ticket_id: [] for ticket_id in ids}
    if not ids:
        return found
    latest: dict[tuple[int, str], SlaTarget] = {}
    for row in session.scalars(_TARGETS_OF_TICKETS, {"ticket_ids": ids}):
        latest[(row.ticket_id, row.kind)] = row  # the highest cycle of each kind
    for (ticket_id, _kind), row in sorted(latest.items(), key=lambda item: (item[0][0], _KIND_ORDER[item[0][1]])):
        found[ticket_id].append(_read(row, now))
    return found


@dataclass(frozen=True)
class Promise:
    """When the first response is due, and the time zone to tell it in (the team's calendar's)."""

    due_at: datetime
    time_zone: str


def first_response_due(session: Session, ticket_id: int, *, now: datetime) -> Promise | None:
    """Worked out from the ticket's history (its state row may not be written yet); None without a running target."""
    found = history.read(session, ticket_id, kinds=evaluation.CLOCK_EVENTS)
    if found is None:
        return None
    policy, computed = evaluation.work_out(session, found, service.rules(session), now)
    if policy is None:
        return None
    first = next((c for c in computed if c.kind == clock.TargetKind.first_response), None)
    if first is None or first.achieved_at is not None or first.due_at is None or first.outcome != clock.Outcome.running:
        return None
    timing = timing_for(session, business_hours=policy.business_hours, team_id=found.team_id)
    return Promise(first.due_at, timing.time_zone)
