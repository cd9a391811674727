"""The SLA clock on a real database: state rows kept by the reaction, breach events and warnings once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.accounts.models import Role
from okno.automation.business_hours import service as business_hours
from okno.automation.business_hours.schemas import CalendarCreate
from okno.automation.sla import evaluation
from okno.automation.sla import queries as sla_queries
from okno.automation.sla import service as sla_service
from okno.automation.sla.jobs import SWEEP_JOB
from okno.automation.sla.models import SlaTarget
from okno.automation.sla.schemas import SlaPolicyUpdate
from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database
from okno.jobs.registry import JobContext, enqueue
from okno.jobs.worker import Worker
from okno.notifications.models import Notification
from okno.storage import FileStorage
from okno.tickets import service
from okno.tickets.models import Channel, Ticket, TicketEvent
from okno.tickets.schemas import MessageIn
from tests.factories.personas import Personas, make_person
from tests.factories.sla import make_policy
from tests.factories.tickets import make_ticket, reply, update


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Worker:
    settings = Settings(data_dir=tmp_path, sla_warning_minutes=15)
    return Worker(db, context=JobContext(settings=settings, storage=FileStorage(tmp_path / "files")), name="w1")


def targets(db: Database, ticket_id: int) -> dict[tuple[str, int], SlaTarget]:
    with db.read() as session:
        rows = session.scalars(sa.select(SlaTarget).where(SlaTarget.ticket_id == ticket_id))
        return {(r.kind, r.cycle): r for r in rows}


def events_of(db: Database, ticket_id: int, kind: str) -> list[TicketEvent]:
    with db.read() as session:
        query = sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
        return list(session.scalars(query.order_by(TicketEvent.id)))


def due_of(db: Database, ticket_id: int) -> datetime | None:
    with db.read() as session:
        return session.scalar(sa.select(Ticket.sla_due_at).where(Ticket.id == ticket_id))


def sweep(db: Database, worker: Worker) -> None:
    with db.write() as session:
        enqueue(session, SWEEP_JOB, {})
    worker.run_pending()


def test_the_reaction_keeps_the_targets_and_the_inbox_due_time(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    make_policy(db)
    start = clock.now()
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    found = targets(db, ticket_id)
    assert set(found) == {("first_response", 0), ("resolution", 0)}
    assert found[("first_response", 0)].due_at == start + timedelta(minutes=60)
    assert found[("first_response", 0)].outcome == "running"
    assert due_of(db, ticket_id) == start + timedelta(minutes=60)

    clock.advance(timedelta(minutes=20))
    reply(db, people.agent.actor, ticket_id, status="pending")
    worker.run_pending()
    found = targets(db, ticket_id)
    assert found[("first_response", 0)].outcome == "achieved"
    assert found[("first_response", 0)].achieved_at == start + timedelta(minutes=20)
    assert found[("resolution", 0)].outcome == "paused" and found[("resolution", 0)].due_at is None
    assert found[("resolution", 0)].remaining_seconds == 460 * 60
    assert due_of(db, ticket_id) is None  # nothing runs while the customer is asked

    with db.read() as session:
        (first, resolution) = sla_queries.clocks(session, [ticket_id], now=clock.now())[ticket_id]
    assert first.kind == "first_response" and first.outcome == "achieved" and first.remaining_seconds is None
    assert resolution.paused and resolution.remaining_seconds == 460 * 60
    assert events_of(db, ticket_id, "sla_targets_changed") == []  # the clock's own motion is no event


def test_a_priority_change_works_the_targets_out_again_from_the_start(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    urgent = make_policy(
        db, name="Urgent", conditions={"priorities": ["urgent"]}, targets={"first_response": {"default": 15}}
    )
    standard = make_policy(db)
    start = clock.now()
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(minutes=5))
    update(db, people.agent.actor, ticket_id, priority="urgent")
    worker.run_pending()
    found = targets(db, ticket_id)
    assert set(found) == {("first_response", 0)}  # the urgent policy sets no resolution target
    assert found[("first_response", 0)].due_at == start + timedelta(minutes=15)
    assert found[("first_response", 0)].policy_id == urgent
    (changed,) = events_of(db, ticket_id, "sla_targets_changed")
    assert changed.actor_type == "system"
    assert changed.data == {
        "old_policy_id": standard,
        "new_policy_id": urgent,
        "targets": [
            {
                "target": "first_response",
                "cycle": 0,
                "old_due_at": (start + timedelta(minutes=60)).isoformat().replace("+00:00", "Z"),
                "new_due_at": (start + timedelta(minutes=15)).isoformat().replace("+00:00", "Z"),
                "paused": False,
            },
            {
                "target": "resolution",
                "cycle": 0,
                "old_due_at": (start + timedelta(minutes=480)).isoformat().replace("+00:00", "Z"),
                "new_due_at": None,
                "paused": False,
            },
        ],
    }
    assert due_of(db, ticket_id) == start + timedelta(minutes=15)


def test_targets_worked_out_again_while_their_clock_is_paused_say_so(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    make_policy(db, targets={"first_response": {"default": 60, "urgent": 15}, "resolution": {"default": 480}})
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    update(db, people.agent.actor, ticket_id, status="pending", priority="urgent")  # waits on the customer
    worker.run_pending()
    (changed,) = events_of(db, ticket_id, "sla_targets_changed")
    moved = {t["target"]: t for t in changed.data["targets"]}
    assert moved["first_response"]["new_due_at"] is None and moved["first_response"]["paused"] is True
    assert targets(db, ticket_id)[("first_response", 0)].paused


def test_the_paid_plan_gets_tighter_targets_and_a_plan_change_is_an_event(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    paid = make_policy(
        db,
        name="Priority support",
        conditions={"plans": ["priority"]},
        targets={"first_response": {"default": 60, "urgent": 10}},
    )
    make_policy(db, name="Everyone else", targets={"first_response": {"default": 240, "urgent": 60}})
    start = clock.now()
    ticket_id = make_ticket(db, people.agent.actor, priority="urgent")
    worker.run_pending()
    assert targets(db, ticket_id)[("first_response", 0)].due_at == start + timedelta(minutes=60)
    update(db, people.agent.actor, ticket_id, customer_plan="priority")
    worker.run_pending()
    (plan_changed,) = events_of(db, ticket_id, "plan_changed")
    assert plan_changed.data == {"old": "free", "new": "priority"}
    row = targets(db, ticket_id)[("first_response", 0)]
    assert row.due_at == start + timedelta(minutes=10) and row.policy_id == paid
    assert len(events_of(db, ticket_id, "sla_targets_changed")) == 1


def test_order_decides_and_disabled_policies_are_skipped(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    broad = make_policy(db, name="Everything", targets={"first_response": {"default": 240}})
    narrow = make_policy(
        db, name="Support team", conditions={"team_ids": [people.team_a]}, targets={"first_response": {"default": 30}}
    )
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    worker.run_pending()
    assert targets(db, ticket_id)[("first_response", 0)].policy_id == broad  # first in order wins
    with db.write() as session:
        sla_service.move_policy(session, people.admin.actor, narrow, position=1)
    update(db, people.agent.actor, ticket_id, tags=["moved"])
    worker.run_pending()
    assert targets(db, ticket_id)[("first_response", 0)].policy_id == narrow
    with db.write() as session:
        sla_service.update_policy(session, people.admin.actor, narrow, changes=SlaPolicyUpdate(enabled=False))
        sla_service.update_policy(session, people.admin.actor, broad, changes=SlaPolicyUpdate(enabled=False))
    update(db, people.agent.actor, ticket_id, tags=["again"])
    worker.run_pending()
    assert targets(db, ticket_id) == {}  # no policy applies: no targets, nothing due
    assert due_of(db, ticket_id) is None


def test_a_breach_is_recorded_once_at_its_due_time(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    make_policy(db)
    start = clock.now()
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(minutes=60))
    sweep(db, worker)
    assert events_of(db, ticket_id, "sla_breached") == []  # at the due time it still runs
    clock.advance(timedelta(seconds=1))
    sweep(db, worker)
    sweep(db, worker)
    (breached,) = events_of(db, ticket_id, "sla_breached")
    assert breached.occurred_at == start + timedelta(minutes=60)
    assert (
        breached.data["target"] == "first_response"
        and datetime.fromisoformat(breached.data["due_at"]) == breached.occurred_at
    )
    row = targets(db, ticket_id)[("first_response", 0)]
    assert row.outcome == "breached" and row.breached_at == start + timedelta(minutes=60)
    clock.advance(timedelta(minutes=10))
    reply(db, people.agent.actor, ticket_id)  # the late answer: met, still breached, no second event
    worker.run_pending()
    row = targets(db, ticket_id)[("first_response", 0)]
    assert row.outcome == "breached" and row.achieved_at == start + timedelta(minutes=70, seconds=1)
    assert len(events_of(db, ticket_id, "sla_breached")) == 1


def test_a_late_reply_before_the_sweep_still_records_the_breach(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    make_policy(db)
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(minutes=61))
    reply(db, people.agent.actor, ticket_id)
    worker.run_pending()
    sweep(db, worker)
    (breached,) = events_of(db, ticket_id, "sla_breached")
    assert breached.data["target"] == "first_response"


def test_a_reply_committed_before_the_sweep_is_no_breach(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    """The sweep works the ticket out from its history, not from a state row its reaction has not updated yet."""
    make_policy(db)
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(minutes=59))
    reply(db, people.agent.actor, ticket_id)  # its reaction has not run yet
    clock.advance(timedelta(minutes=5))
    with db.write() as session:
        evaluation.sweep(session, now=clock.now(), rules=sla_service.rules(session), warning_lead=timedelta(0))
    assert events_of(db, ticket_id, "sla_breached") == []
    assert targets(db, ticket_id)[("first_response", 0)].outcome == "achieved"


def test_warnings_go_once_to_the_assignee_and_the_teams_supervisors(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    supervisor = make_person(db, email="sup@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    make_person(db, email="sup-b@okno.example.com", role=Role.supervisor, team_ids=[people.team_b])
    make_policy(db)
    start = clock.now()
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
    worker.run_pending()
    clock.advance(timedelta(minutes=44))  # 16 minutes left: not yet
    sweep(db, worker)
    assert events_of(db, ticket_id, "sla_warning") == []
    clock.advance(timedelta(minutes=2))  # 14 minutes left
    sweep(db, worker)
    sweep(db, worker)
    (warning,) = events_of(db, ticket_id, "sla_warning")
    assert warning.data["target"] == "first_response"
    assert warning.data["due_at"] == (start + timedelta(minutes=60)).isoformat().replace("+00:00", "Z")
    assert warning.data["notified_user_ids"] == sorted([people.agent.user_id, supervisor.user_id])
    with db.read() as session:
        notified = session.execute(sa.select(Notification.user_id, Notification.kind, Notification.detail)).all()
    assert sorted(notified) == sorted(
        [(people.agent.user_id, "sla_warning", "first_response"), (supervisor.user_id, "sla_warning", "first_response")]
    )


def test_next_response_cycles_are_kept_for_analytics(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    make_policy(db)
    ticket_id = make_ticket(db, people.customer.actor)
    clock.advance(timedelta(minutes=10))
    reply(db, people.agent.actor, ticket_id)
    clock.advance(timedelta(minutes=10))

    def customer_writes() -> None:
        with db.write() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            service.receive_customer_message(
                session, people.customer.actor, ticket, message=MessageIn(body="And?"), channel=Channel.api
            )

    customer_writes()
    clock.advance(timedelta(minutes=150))
    reply(db, people.agent.actor, ticket_id)
    clock.advance(timedelta(minutes=10))
    customer_writes()
    worker.run_pending()
    found = targets(db, ticket_id)
    assert {key: row.outcome for key, row in found.items()} == {
        ("first_response", 0): "achieved",
        ("resolution", 0): "running",
        ("next_response", 1): "breached",
        ("next_response", 2): "running",
    }
    with db.read() as session:
        shown = sla_queries.clocks(session, [ticket_id], now=clock.now())[ticket_id]
    assert [(c.kind, c.cycle) for c in shown] == [("first_response", 0), ("next_response", 2), ("resolution", 0)]


def test_business_hours_follow_the_tickets_team_calendar(
    db: Database, people: Personas, clock: FrozenClock, worker: Worker
) -> None:
    week = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
    with db.write() as session:
        for name, zone, team_ids in (
            ("Moscow", "Europe/Moscow", [people.team_a]),
            ("Bucharest", "Europe/Bucharest", [people.team_b]),
        ):
            data = {"name": name, "time_zone": zone, "week": week, "team_ids": team_ids}
            business_hours.create_calendar(session, people.admin.actor, data=CalendarCreate.model_validate(data))
    make_policy(db, business_hours=True)
    clock.set(datetime(2026, 3, 6, 14, 30, tzinfo=UTC))  # Friday: 17:30 in Moscow, 16:30 in Bucharest
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    worker.run_pending()
    row = targets(db, ticket_id)[("first_response", 0)]
    assert row.business_hours and row.due_at == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # Monday 09:30 Moscow
    update(db, people.agent.actor, ticket_id, team_id=people.team_b)  # Bucharest: the hour ends Friday 17:30
    worker.run_pending()
    assert targets(db, ticket_id)[("first_response", 0)].due_at == datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    (changed,) = events_of(db, ticket_id, "sla_targets_changed")
    assert changed.data["targets"][0]["new_due_at"] == "2026-03-06T15:30:00Z"
