"""The SLA clock of one ticket: when each target is due, and whether it was met (pure: no session, no clock).

The ticket's history goes in as facts in the order they happened (status changes, public
replies by agents, messages from the customer), with the terms of the policy that applies and
a way to measure time (calendar time, or the business hours of the ticket's team). Out comes
every target the policy sets, worked out from the ticket's start, as of ``now``.

Rules (docs/subsystems/sla.md):
- *First response* runs from the ticket's creation to the first public reply by an agent. A
  ticket an agent opened with their own message (outbound) has none.
- *Next response* runs from a customer's message that arrives after they were answered to the
  agent's next public reply; each such wait is a new cycle (1, 2, …). Messages while a cycle
  runs belong to it.
- *Resolution* runs from creation until the ticket is solved (or closed); a reopened ticket's
  clock goes on from where it stopped.
- The clocks count while the ticket is new, open or on hold, and while it is pending unless the
  policy pauses them then (it waits on the customer). Solving or closing fulfils the response
  targets that are running: there is nothing left to answer.
- A target is met when achieved at or before its due time, and breached the moment its clock
  runs past the due time: at ``now == due_at`` it is still running, with no time left.
- Business time: a target of 4 hours is 4 *open* hours of the calendar; the clock still runs
  while the desk is closed, it just does not count.
- Time in the spam folder does not count, whatever the status: a ticket taken out of spam goes
  on with the time it had left when it went in (for one filed there on arrival: all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

ZERO = timedelta(0)


class TargetKind(StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class Outcome(StrEnum):
    running = "running"
    paused = "paused"
    achieved = "achieved"
    breached = "breached"


class FactKind(StrEnum):
    status = "status"  # the ticket's status became ``status``
    agent_reply = "agent_reply"  # an agent's public reply
    customer_message = "customer_message"  # a message from the customer (or someone copied)
    spam = "spam"  # it went into the spam folder
    not_spam = "not_spam"  # it came out of the spam folder


@dataclass(frozen=True)
class Fact:
    at: datetime
    kind: FactKind
    status: str | None = None


@dataclass(frozen=True)
class History:
    """What happened to a ticket after it was created, in order (ties keep their recorded order)."""

    created_at: datetime
    status: str  # the status it was created with
    facts: tuple[Fact, ...] = ()
    opened_by_customer: bool = True  # False: an agent's outbound message opened it


@dataclass(frozen=True)
class Terms:
    """What the applied policy asks of this ticket: minutes per target (absent: no such target)."""

    minutes: Mapping[TargetKind, int]
    pause_when_pending: bool = True


class Measure(Protocol):
    """How a policy counts time: calendar time, or a calendar's open hours."""

    def add(self, start: datetime, delta: timedelta) -> datetime | None:
        """The instant ``delta`` of counted time after ``start``; None if that never comes."""
        ...

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from ``start`` to ``end``."""
        ...


class CalendarTime:
    """Every second counts."""

    def add(self, start: datetime, delta: timedelta) -> datetime | None:
        return start + delta

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, ZERO)


CALENDAR_TIME = CalendarTime()


@dataclass(frozen=True)
class TargetClock:
    """One target as of ``now``. ``elapsed``, ``paused_for`` and ``remaining`` are counted time."""

    kind: TargetKind
    cycle: int
    target: timedelta
    started_at: datetime
    # When it is (or was) due: None while paused, and for a target met while it was not counting.
    due_at: datetime | None
    achieved_at: datetime | None
    breached_at: datetime | None
    paused: bool
    elapsed: timedelta
    paused_for: timedelta
    remaining: timedelta  # target - elapsed (negative once breached)
    outcome: Outcome

    @property
    def running(self) -> bool:
        """The clock counts now (met targets and paused ones do not)."""
        return self.achieved_at is None and not self.paused and self.outcome in (Outcome.running, Outcome.breached)


DONE_STATUSES = frozenset({"solved", "closed"})
COUNTING_STATUSES = frozenset({"new", "open", "on_hold"})


class _Tracker:
    """One target's clock, moved forward fact by fact."""

    def __init__(self, kind: TargetKind, cycle: int, target: timedelta, start: datetime, measure: Measure) -> None:
        self.kind = kind
        self.cycle = cycle
        self.target = target
        self.started_at = start
        self.measure = measure
        self.used = ZERO
        self.running_since: datetime | None = None
        self.paused_since: datetime | None = None
        self.paused_for = ZERO
        self.last_due: datetime | None = None
        self.achieved_at: datetime | None = None
        self.breached_at: datetime | None = None

    def due(self) -> datetime | None:
        """The due time of the current stretch of counting (the breach, once there was one)."""
        if self.breached_at is not None:
            return self.breached_at
        assert self.running_since is not None
        return self.measure.add(self.running_since, self.target - self.used)

    def set_state(self, at: datetime, counting: bool, pausing: bool) -> None:
        if self.achieved_at is not None:
            return
        if self.running_since is not None and not counting:
            self._stop(at)
        elif self.running_since is None and counting:
            self.running_since = at
        if self.paused_since is not None and not pausing:
            self.paused_for += self.measure.between(self.paused_since, at)
            self.paused_since = None
        elif self.paused_since is None and pausing:
            self.paused_since = at

    def _stop(self, at: datetime) -> None:
        assert self.running_since is not None
        due = self.due()
        if self.breached_at is None and due is not None and at > due:
            self.breached_at = due
        self.last_due = due
        self.used += self.measure.between(self.running_since, at)
        self.running_since = None

    def achieve(self, at: datetime) -> None:
        if self.achieved_at is not None:
            return
        self.set_state(at, counting=False, pausing=False)
        self.achieved_at = at

    def reopen(self) -> None:
        """The resolution clock of a reopened ticket goes on from where it stopped."""
        self.achieved_at = None

    def as_of(self, now: datetime) -> TargetClock:
        elapsed, paused_for, due = self.used, self.paused_for, self.last_due
        if self.running_since is not None:
            due = self.due()
            if self.breached_at is None and due is not None and now > due:
                self.breached_at = due
            elapsed += self.measure.between(self.running_since, max(now, self.running_since))
        if self.paused_since is not None:
            paused_for += self.measure.between(self.paused_since, max(now, self.paused_since))
        paused = self.achieved_at is None and self.running_since is None
        if self.breached_at is not None:
            outcome, due = Outcome.breached, self.breached_at
        elif self.achieved_at is not None:
            outcome = Outcome.achieved
        elif paused:
            outcome, due = Outcome.paused, None
        else:
            outcome = Outcome.running
        return TargetClock(
            kind=self.kind,
            cycle=self.cycle,
            target=self.target,
            started_at=self.started_at,
            due_at=due,
            achieved_at=self.achieved_at,
            breached_at=self.breached_at,
            paused=paused,
            elapsed=elapsed,
            paused_for=paused_for,
            remaining=self.target - elapsed,
            outcome=outcome,
        )


def clocks(history: History, terms: Terms, now: datetime, measure: Measure = CALENDAR_TIME) -> list[TargetClock]:
    """Every target of the ticket as of ``now``: first response, resolution, then next responses by cycle."""

    in_spam = False

    def counting(status: str) -> bool:
        if in_spam:
            return False
        return status in COUNTING_STATUSES or (status == "pending" and not terms.pause_when_pending)

    def pausing(status: str) -> bool:
        return not in_spam and status == "pending" and terms.pause_when_pending

    def minutes(kind: TargetKind) -> timedelta | None:
        value = terms.minutes.get(kind)
        return timedelta(minutes=value) if value is not None else None

    status = history.status
    first: _Tracker | None = None
    resolution: _Tracker | None = None
    cycles: list[_Tracker] = []
    next_target = minutes(TargetKind.next_response)

    def begin(kind: TargetKind, cycle: int, target: timedelta, at: datetime) -> _Tracker:
        tracker = _Tracker(kind, cycle, target, at, measure)
        tracker.set_state(at, counting(status), pausing(status))
        return tracker

    if (target := minutes(TargetKind.first_response)) is not None and history.opened_by_customer:
        first = begin(TargetKind.first_response, 0, target, history.created_at)
    if (target := minutes(TargetKind.resolution)) is not None:
        resolution = begin(TargetKind.resolution, 0, target, history.created_at)
    # Whether the customer has been answered (a reply, or a ticket solved meanwhile): their next
    # message then starts a next-response wait.
    answered = not history.opened_by_customer

    def responses() -> list[_Tracker]:
        return [t for t in (first, *cycles) if t is not None]

    handlers: dict[FactKind, Callable[[Fact], None]] = {}

    def on_status(fact: Fact) -> None:
        nonlocal status, answered
        assert fact.status is not None
        old, status = status, fact.status
        if status in DONE_STATUSES:
            for tracker in responses():
                tracker.achieve(fact.at)
            answered = True
            if resolution is not None:
                resolution.achieve(fact.at)
            return
        if old in DONE_STATUSES and resolution is not None:
            resolution.reopen()
        for tracker in [*responses(), *([resolution] if resolution is not None else [])]:
            tracker.set_state(fact.at, counting(status), pausing(status))

    def on_reply(fact: Fact) -> None:
        nonlocal answered
        answered = True
        for tracker in responses():
            tracker.achieve(fact.at)

    def on_customer(fact: Fact) -> None:
        waiting = any(t.achieved_at is None for t in responses())
        if answered and not waiting and next_target is not None:
            cycles.append(begin(TargetKind.next_response, len(cycles) + 1, next_target, fact.at))

    def on_spam(fact: Fact) -> None:
        nonlocal in_spam
        in_spam = fact.kind == FactKind.spam
        for tracker in [*responses(), *([resolution] if resolution is not None else [])]:
            tracker.set_state(fact.at, counting(status), pausing(status))

    handlers[FactKind.status] = on_status
    handlers[FactKind.agent_reply] = on_reply
    handlers[FactKind.customer_message] = on_customer
    handlers[FactKind.spam] = on_spam
    handlers[FactKind.not_spam] = on_spam
    for fact in history.facts:
        handlers[fact.kind](fact)
    trackers: Sequence[_Tracker] = [t for t in (first, resolution) if t is not None] + cycles
    return [t.as_of(now) for t in trackers]


def next_due(found: Sequence[TargetClock]) -> datetime | None:
    """When the first running target is (or was) due: what the "SLA at risk" view sorts by."""
    dues = [c.due_at for c in found if c.running and c.due_at is not None]
    return min(dues) if dues else None
