"""The SLA clock, worked by hand: a ticket's history in, each target's due time and outcome out.

Times are minutes after T0 (Monday 2 March 2026, 09:00 UTC). Unless a case says otherwise the
policy asks for a first response within 60 minutes, a next response within 120 and a resolution
within 480, in calendar time, paused while the ticket is pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from okno.automation.business_hours.calendar import BusinessCalendar
from okno.automation.sla.clock import (
    Fact,
    FactKind,
    History,
    Outcome,
    TargetClock,
    TargetKind,
    Terms,
    clocks,
    next_due,
)
from okno.automation.sla.timing import BusinessTime

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST, NEXT, RESOLUTION = TargetKind.first_response, TargetKind.next_response, TargetKind.resolution
TERMS = Terms({FIRST: 60, NEXT: 120, RESOLUTION: 480}, pause_when_pending=True)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def status(minutes: float, value: str) -> Fact:
    return Fact(at(minutes), FactKind.status, value)


def reply(minutes: float) -> Fact:
    return Fact(at(minutes), FactKind.agent_reply)


def customer(minutes: float) -> Fact:
    return Fact(at(minutes), FactKind.customer_message)


def spam(minutes: float) -> Fact:
    return Fact(at(minutes), FactKind.spam)


def not_spam(minutes: float) -> Fact:
    return Fact(at(minutes), FactKind.not_spam)


@dataclass(frozen=True)
class Want:
    """One target as expected: due, achieved and breached in minutes after T0 (None: not set)."""

    outcome: Outcome
    due: float | None
    achieved: float | None = None
    breached: float | None = None
    remaining: float | None = None  # counted minutes left (negative: over)
    paused_for: float | None = None


@dataclass(frozen=True)
class Case:
    name: str
    facts: list[Fact]
    now: float
    want: dict[tuple[TargetKind, int], Want]
    terms: Terms = TERMS
    created_status: str = "new"
    opened_by_customer: bool = True
    extra: dict[str, object] = field(default_factory=dict)


CASES = [
    Case(
        "nothing happened yet: both clocks run from creation",
        [],
        now=20,
        want={
            (FIRST, 0): Want(Outcome.running, due=60, remaining=40),
            (RESOLUTION, 0): Want(Outcome.running, due=480, remaining=460),
        },
    ),
    Case(
        "an agent's reply within the hour meets the first response",
        [reply(30)],
        now=45,
        want={
            (FIRST, 0): Want(Outcome.achieved, due=60, achieved=30, remaining=30),
            (RESOLUTION, 0): Want(Outcome.running, due=480),
        },
    ),
    Case(
        "a late reply: breached at the due time, met later",
        [reply(90)],
        now=100,
        want={(FIRST, 0): Want(Outcome.breached, due=60, achieved=90, breached=60, remaining=-30)},
    ),
    Case(
        "at the due time exactly, with no reply: still running, nothing left",
        [],
        now=60,
        want={(FIRST, 0): Want(Outcome.running, due=60, remaining=0)},
    ),
    Case(
        "one second past the due time: breached at the due time",
        [],
        now=60 + 1 / 60,
        want={(FIRST, 0): Want(Outcome.breached, due=60, breached=60)},
    ),
    Case(
        "a reply at the due time exactly meets the target",
        [reply(60)],
        now=70,
        want={(FIRST, 0): Want(Outcome.achieved, due=60, achieved=60, remaining=0)},
    ),
    Case(
        "pending pauses the resolution clock; the customer's answer resumes it and starts a next response",
        # The reply asks a question and sets pending; the customer answers after 110 minutes.
        [reply(10), status(10, "pending"), customer(120), status(120, "open")],
        now=180,
        want={
            (FIRST, 0): Want(Outcome.achieved, due=60, achieved=10),
            # 10 minutes counted before the pause, 470 left from 120.
            (RESOLUTION, 0): Want(Outcome.running, due=120 + 470, remaining=470 - 60, paused_for=110),
            (NEXT, 1): Want(Outcome.running, due=240, remaining=60),
        },
    ),
    Case(
        "while pending the clock is paused, with no due time and its time left kept",
        [reply(10), status(10, "pending")],
        now=300,
        want={(RESOLUTION, 0): Want(Outcome.paused, due=None, remaining=470, paused_for=290)},
    ),
    Case(
        "a policy that does not pause keeps counting while pending",
        [reply(10), status(10, "pending")],
        now=300,
        terms=Terms({FIRST: 60, NEXT: 120, RESOLUTION: 480}, pause_when_pending=False),
        want={(RESOLUTION, 0): Want(Outcome.running, due=480, remaining=180, paused_for=0)},
    ),
    Case(
        "pending before any reply pauses the first response too",
        [status(20, "pending"), status(50, "open")],
        now=60,
        want={(FIRST, 0): Want(Outcome.running, due=90, remaining=30, paused_for=30)},
    ),
    Case(
        "breached before a pause: the breach stands while paused",
        [status(90, "pending")],
        now=120,
        want={(FIRST, 0): Want(Outcome.breached, due=60, breached=60, remaining=-30)},
    ),
    Case(
        "next responses: one cycle per wait, later messages in a wait belong to it",
        [reply(30), customer(60), customer(90), reply(120), customer(300)],
        now=480,
        want={
            (FIRST, 0): Want(Outcome.achieved, due=60, achieved=30),
            (NEXT, 1): Want(Outcome.achieved, due=180, achieved=120),
            (NEXT, 2): Want(Outcome.breached, due=420, breached=420, remaining=-60),
        },
    ),
    Case(
        "a second message before the first answer starts no next response",
        [customer(10), reply(20)],
        now=30,
        want={(FIRST, 0): Want(Outcome.achieved, due=60, achieved=20)},
    ),
    Case(
        "solving meets the response target and the resolution; reopening resumes the resolution",
        [reply(60), status(60, "solved"), customer(300), status(300, "open")],
        now=360,
        want={
            (FIRST, 0): Want(Outcome.achieved, due=60, achieved=60),
            # 60 minutes counted before the solve, 420 left from 300.
            (RESOLUTION, 0): Want(Outcome.running, due=720, remaining=360),
            (NEXT, 1): Want(Outcome.running, due=420, remaining=60),
        },
    ),
    Case(
        "solved without a reply: the first response counts as fulfilled",
        [status(30, "solved")],
        now=100,
        want={
            (FIRST, 0): Want(Outcome.achieved, due=60, achieved=30),
            (RESOLUTION, 0): Want(Outcome.achieved, due=480, achieved=30, remaining=450),
        },
    ),
    Case(
        "an outbound ticket has no first response; the customer's answer starts a next response",
        [customer(60), status(60, "open")],
        now=90,
        created_status="pending",
        opened_by_customer=False,
        want={
            (RESOLUTION, 0): Want(Outcome.running, due=60 + 480, paused_for=60),
            (NEXT, 1): Want(Outcome.running, due=180),
        },
    ),
    Case(
        "the urgent terms of the same history: recomputed from the start, the reply at 30 is late",
        [reply(30)],
        now=40,
        terms=Terms({FIRST: 15, RESOLUTION: 240}),
        want={
            (FIRST, 0): Want(Outcome.breached, due=15, achieved=30, breached=15),
            (RESOLUTION, 0): Want(Outcome.running, due=240),
        },
    ),
    Case(
        "a policy with only a resolution target",
        [customer(5), reply(10), customer(20)],
        now=30,
        terms=Terms({RESOLUTION: 120}),
        want={(RESOLUTION, 0): Want(Outcome.running, due=120)},
    ),
    Case(
        "on hold counts like open",
        [status(10, "on_hold")],
        now=70,
        want={(FIRST, 0): Want(Outcome.breached, due=60, breached=60)},
    ),
    Case(
        "filed into spam on arrival and taken out at 180: the clocks start then, with all their time",
        [spam(0), not_spam(180)],
        now=200,
        want={
            (FIRST, 0): Want(Outcome.running, due=240, remaining=40),
            (RESOLUTION, 0): Want(Outcome.running, due=660, remaining=460),
        },
    ),
    Case(
        "in spam nothing counts, not even a pending policy pause",
        [status(5, "pending"), spam(20), customer(30)],
        now=500,
        want={
            (FIRST, 0): Want(Outcome.paused, due=None, remaining=55, paused_for=15),
            (RESOLUTION, 0): Want(Outcome.paused, due=None, remaining=475, paused_for=15),
        },
    ),
    Case(
        "marked as spam at 50 and back at 100: 10 minutes left of the first response",
        [spam(50), not_spam(100)],
        now=105,
        want={(FIRST, 0): Want(Outcome.running, due=110, remaining=5)},
    ),
    Case(
        "a target breached before the ticket went into spam stays breached",
        [spam(70), not_spam(100)],
        now=120,
        want={(FIRST, 0): Want(Outcome.breached, due=60, breached=60)},
    ),
]


def _minutes(value: datetime | None) -> float | None:
    return None if value is None else (value - T0).total_seconds() / 60


def run(case: Case) -> dict[tuple[TargetKind, int], TargetClock]:
    history = History(
        created_at=T0,
        status=case.created_status,
        facts=tuple(case.facts),
        opened_by_customer=case.opened_by_customer,
    )
    return {(c.kind, c.cycle): c for c in clocks(history, case.terms, at(case.now))}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_clock(case: Case) -> None:
    found = run(case)
    for key, want in case.want.items():
        got = found[key]
        assert got.outcome == want.outcome, key
        assert _minutes(got.due_at) == want.due, key
        assert _minutes(got.achieved_at) == want.achieved, key
        assert _minutes(got.breached_at) == want.breached, key
        assert got.paused == (want.outcome == Outcome.paused or (got.paused and want.outcome == Outcome.breached))
        if want.remaining is not None:
            assert got.remaining == timedelta(minutes=want.remaining), key
        if want.paused_for is not None:
            assert got.paused_for == timedelta(minutes=want.paused_for), key
    assert set(case.want) <= set(found)


def test_targets_the_policy_does_not_set_are_left_out() -> None:
    found = run(Case("", [reply(10), customer(20)], now=30, want={}, terms=Terms({FIRST: 60})))
    assert list(found) == [(FIRST, 0)]


def test_next_due_is_the_earliest_running_target() -> None:
    running = clocks(History(T0, "new"), TERMS, at(10))
    assert next_due(running) == at(60)
    answered = clocks(History(T0, "new", (reply(5),)), TERMS, at(10))
    assert next_due(answered) == at(480)
    paused = clocks(History(T0, "new", (reply(5), status(5, "pending"))), TERMS, at(10))
    assert next_due(paused) is None
    breached = clocks(History(T0, "new"), TERMS, at(100))
    assert next_due(breached) == at(60)  # a breached target still runs, and sorts first


NINE_TO_SIX_UTC = BusinessTime(BusinessCalendar.build("UTC", {d: ["09:00-18:00"] for d in range(5)}))
# Moscow: +03:00 all year; 9 March 2026 (a Monday) is a holiday.
MOSCOW = BusinessTime(
    BusinessCalendar.build("Europe/Moscow", {d: ["09:00-18:00"] for d in range(5)}, holidays=[date(2026, 3, 9)])
)
# Bucharest: +02:00 until Sunday 29 March 2026, +03:00 from then on.
BUCHAREST = BusinessTime(BusinessCalendar.build("Europe/Bucharest", {d: ["09:00-18:00"] for d in range(5)}))


def test_business_time_counts_only_open_hours() -> None:
    friday_5pm = datetime(2026, 2, 27, 17, 0, tzinfo=UTC)
    history = History(friday_5pm, "new")
    first, resolution = clocks(history, TERMS, datetime(2026, 3, 2, 9, 30, tzinfo=UTC), NINE_TO_SIX_UTC)
    # One open hour on Friday (17–18), so the first response (60) is due at Friday 18:00 exactly;
    # the resolution's 480 minutes: 60 on Friday, then 7 hours on Monday from 09:00.
    assert first.due_at == datetime(2026, 2, 27, 18, 0, tzinfo=UTC)
    assert first.outcome == Outcome.breached
    assert resolution.due_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert resolution.elapsed == timedelta(minutes=90)  # 60 on Friday, 30 on Monday; the weekend is closed
    assert resolution.remaining == timedelta(minutes=390)


def test_business_time_pause_over_the_weekend() -> None:
    friday_4pm = datetime(2026, 2, 27, 16, 0, tzinfo=UTC)
    facts = (
        Fact(friday_4pm + timedelta(minutes=30), FactKind.agent_reply),
        Fact(friday_4pm + timedelta(minutes=30), FactKind.status, "pending"),
        Fact(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), FactKind.customer_message),
        Fact(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), FactKind.status, "open"),
    )
    found = {(c.kind, c.cycle): c for c in clocks(History(friday_4pm, "new", facts), TERMS, at(120), NINE_TO_SIX_UTC)}
    resolution = found[(RESOLUTION, 0)]
    # 30 open minutes on Friday, paused Friday 16:30 – Monday 10:00 (1.5 + 1 open hours), 450 left from 10:00.
    assert resolution.paused_for == timedelta(minutes=150)
    assert resolution.due_at == datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
    assert found[(NEXT, 1)].due_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_business_time_skips_a_weekend_and_a_holiday_in_moscow() -> None:
    friday = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)  # 17:30 in Moscow
    first, resolution = clocks(History(friday, "new"), TERMS, friday, MOSCOW)
    # 30 open minutes on Friday; Monday 9 March is a holiday; the other 30 on Tuesday from 09:00 (06:00 UTC).
    assert first.due_at == datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    # The resolution's 480: 30 on Friday, the other 450 on Tuesday from 09:00, until 16:30 Moscow time.
    assert resolution.due_at == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)


def test_business_time_across_the_spring_clock_change_in_bucharest() -> None:
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # 17:00 in Bucharest (+02:00)
    terms = Terms({FIRST: 120})
    (first,) = clocks(History(friday, "new"), terms, friday, BUCHAREST)
    # One open hour on Friday; the clocks go forward on Sunday, so Monday 09:00 is 06:00 UTC (+03:00):
    # the second hour ends at 07:00 UTC, not at 08:00 as it would have a week before.
    assert first.due_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    paused = clocks(
        History(friday, "new", (Fact(friday, FactKind.status, "pending"),)),
        terms,
        datetime(2026, 3, 30, 12, 0, tzinfo=UTC),
        BUCHAREST,
    )[0]
    # Pending from the start: paused for Friday's open hour and Monday's 09:00–15:00 local (6 hours).
    assert paused.outcome == Outcome.paused and paused.paused_for == timedelta(hours=7)
    assert paused.remaining == timedelta(minutes=120)


def test_a_calendar_that_never_opens_has_no_due_time() -> None:
    closed = BusinessTime(BusinessCalendar.build("Europe/Moscow", {}))
    (first,) = clocks(History(T0, "new"), Terms({FIRST: 60}), at(600), closed)
    assert first.due_at is None and first.outcome == Outcome.running and first.elapsed == timedelta(0)
