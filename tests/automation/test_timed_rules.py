"""Time-based rules on the injectable clock: the seeded defaults, once per ticket and state, two workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from okno.automation.rules import service, timed
from okno.automation.rules.models import RuleFiring, RuleKind
from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database, make_engine
from okno.jobs.models import Job
from okno.jobs.registry import enqueue
from okno.jobs.worker import Worker
from okno.notifications.models import Notification
from okno.tickets.models import Message, MessageKind, Ticket
from tests import databases
from tests.automation.rules_helpers import act, cond, events, make_rule, make_worker
from tests.factories.personas import Personas, make_personas
from tests.factories.tickets import make_ticket, reply, update

SETTINGS = Settings(secret_key="test-secret")


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Worker:
    return make_worker(db, tmp_path)


def run_timed(db: Database, worker: Worker) -> int:
    with db.write() as session:
        fired = timed.run(session, SETTINGS)
    worker.run_pending()
    return fired


def status(db: Database, ticket_id: int) -> str:
    with db.read() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return str(found.status)


def automatic_replies(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        query = sa.select(Message.body_text).where(
            Message.ticket_id == ticket_id, Message.kind == MessageKind.reply, Message.author_user_id.is_(None)
        )
        return list(session.scalars(query))


def pending_ticket(db: Database, people: Personas, worker: Worker) -> int:
    ticket_id = make_ticket(
        db, people.agent.actor, team_id=people.team_a, customer={"email": "zoe@x.example", "name": "Zoe Park"}
    )
    update(db, people.agent.actor, ticket_id, assignee_id=people.agent.user_id)
    reply(db, people.agent.actor, ticket_id, "Which size do you need?", status="pending")
    worker.run_pending()
    return ticket_id


def test_the_defaults_remind_after_three_days_solve_after_seven_and_close_four_days_later(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    ticket_id = pending_ticket(db, people, worker)
    clock.advance(timedelta(days=3) - timedelta(minutes=1))
    run_timed(db, worker)
    assert automatic_replies(db, ticket_id) == []
    clock.advance(timedelta(minutes=2))
    run_timed(db, worker)
    [reminder] = automatic_replies(db, ticket_id)
    assert reminder.startswith("Hello Zoe,") and "still waiting for your answer" in reminder
    # The reminder keeps the ticket pending, and fires once however often the scheduler runs.
    clock.advance(timedelta(hours=1))
    run_timed(db, worker)
    assert status(db, ticket_id) == "pending" and len(automatic_replies(db, ticket_id)) == 1
    clock.advance(timedelta(days=4))
    run_timed(db, worker)
    assert status(db, ticket_id) == "solved"
    [solved] = [e for e in events(db, ticket_id, "status_changed") if e.data["new"] == "solved"]
    assert solved.actor_type == "rule"
    clock.advance(timedelta(days=4, minutes=1))
    run_timed(db, worker)
    assert status(db, ticket_id) == "closed"


def test_a_ticket_pending_again_is_reminded_again(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    ticket_id = pending_ticket(db, people, worker)
    clock.advance(timedelta(days=3, minutes=1))
    run_timed(db, worker)
    update(db, people.agent.actor, ticket_id, status="open")
    update(db, people.agent.actor, ticket_id, status="pending")
    worker.run_pending()
    clock.advance(timedelta(days=2))
    run_timed(db, worker)
    assert len(automatic_replies(db, ticket_id)) == 1
    clock.advance(timedelta(days=1, minutes=1))
    run_timed(db, worker)
    assert len(automatic_replies(db, ticket_id)) == 2


def test_unassigned_for_ten_minutes_notifies_the_teams_supervisors(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    from okno.accounts.models import Role
    from tests.factories.personas import make_person

    supervisor = make_person(db, email="sup@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    waiting = make_ticket(db, people.agent.actor, team_id=people.team_a)
    taken = make_ticket(db, people.agent.actor, team_id=people.team_a)
    update(db, people.agent.actor, taken, assignee_id=people.agent.user_id)
    worker.run_pending()
    clock.advance(timedelta(minutes=11))
    run_timed(db, worker)
    run_timed(db, worker)
    with db.read() as session:
        rows = session.execute(sa.select(Notification.user_id, Notification.ticket_id, Notification.kind)).all()
    assert rows == [(supervisor.user_id, waiting, "rule")]


def test_awaiting_reply_in_business_or_calendar_time_with_conditions(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    rule_id = make_rule(
        db,
        people.admin.actor,
        kind="timed",
        triggers=[],
        timer={"state": "awaiting_reply", "minutes": 120, "business_time": True},
        conditions={"all": [cond("priority", "is", "urgent")]},
        actions=[act("add_tags", ["no-reply-2h"])],
    )
    urgent = make_ticket(db, people.agent.actor, priority="urgent")
    normal = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(minutes=121))
    run_timed(db, worker)
    assert [e.actor_id for e in events(db, urgent, "tags_changed")] == [rule_id]
    assert events(db, normal, "tags_changed") == []
    # A ticket whose conditions come to hold later in the same wait is still found.
    update(db, people.agent.actor, normal, priority="urgent")
    worker.run_pending()
    run_timed(db, worker)
    assert [e.actor_id for e in events(db, normal, "tags_changed")] == [rule_id]


def the_only_timed_rule(db: Database, people: Personas) -> int:
    """Switches the default time-based rules off and adds one: "awaiting a reply for an hour → tag late"."""
    with db.write() as session:
        for rule in service.list_rules(session, people.admin.actor, kind=RuleKind.timed):
            rule.active = False
    return make_rule(
        db,
        people.admin.actor,
        kind="timed",
        triggers=[],
        timer={"state": "awaiting_reply", "minutes": 60},
        actions=[act("add_tags", ["late"])],
    )


def test_a_backlog_is_worked_through_in_batches(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timed, "BATCH", 3)
    the_only_timed_rule(db, people)
    tickets = [make_ticket(db, people.agent.actor) for _ in range(8)]
    worker.run_pending()
    clock.advance(timedelta(hours=2))
    run_timed(db, worker)  # the first batch, then rules.timed_batch jobs for the rest
    assert all(len(events(db, t, "tags_changed")) == 1 for t in tickets)

    # Still awaiting a reply, but done with: the next minute's walk finds nothing, and queues no batch.
    clock.advance(timedelta(minutes=1))
    with db.write() as session:
        assert timed.run(session, SETTINGS) == 0
        assert not session.scalar(sa.select(sa.func.count()).where(Job.name == timed.BATCH_JOB, Job.status == "queued"))


def test_a_batch_queued_before_walks_went_by_since_starts_the_walk_over(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    rule_id = the_only_timed_rule(db, people)
    ticket_id = make_ticket(db, people.agent.actor)
    worker.run_pending()
    clock.advance(timedelta(hours=2))
    with db.write() as session:
        enqueue(session, timed.BATCH_JOB, {"rule_id": rule_id, "after_id": ticket_id + 100})  # an id alone
    worker.run_pending()
    assert len(events(db, ticket_id, "tags_changed")) == 1
    with db.read() as session:
        query = sa.select(Job.name, Job.status).where(Job.name.in_([timed.JOB, timed.BATCH_JOB]))
        ran = {name: status for name, status in session.execute(query)}
    assert ran == {timed.BATCH_JOB: "done"}  # the batch fired it, not the minute's run


@dataclass
class ServedDesk:
    """A fresh database of its own (other connections see what is committed), with a rule that notes
    tickets awaiting a reply for 30 minutes."""

    engine: sa.Engine
    db: Database
    clock: FrozenClock
    people: Personas
    rule_id: int


@contextmanager
def served_desk(template: databases.Template, tmp_path: Path) -> Iterator[ServedDesk]:
    engine = make_engine(template.fresh_url(tmp_path))
    try:
        clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        db = Database(engine, clock=clock)
        people = make_personas(db)
        rule_id = make_rule(
            db,
            people.admin.actor,
            kind="timed",
            triggers=[],
            timer={"state": "awaiting_reply", "minutes": 30},
            actions=[act("add_note", "Still waiting.")],
        )
        yield ServedDesk(engine, db, clock, people, rule_id)
    finally:
        engine.dispose()


def test_two_workers_fire_each_ticket_once(served_template: databases.Template, tmp_path: Path) -> None:
    with served_desk(served_template, tmp_path) as desk:
        db, clock, people, rule_id = desk.db, desk.clock, desk.people, desk.rule_id
        tickets = [make_ticket(db, people.agent.actor) for _ in range(30)]
        clock.advance(timedelta(hours=1))
        errors: list[BaseException] = []

        def sweep() -> None:
            try:
                with db.write() as session:
                    timed.run(session, SETTINGS, rule_id=rule_id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        with db.read() as session:
            fired = session.execute(
                sa.select(RuleFiring.ticket_id, sa.func.count())
                .where(RuleFiring.rule_id == rule_id)
                .group_by(RuleFiring.ticket_id)
            ).all()
            notes = session.scalar(
                sa.select(sa.func.count()).select_from(Message).where(Message.kind == MessageKind.note)
            )
        assert sorted(t for t, _ in fired) == sorted(tickets) and {n for _, n in fired} == {1}
        assert notes == len(tickets)


def test_a_ticket_someone_is_changing_is_left_for_the_next_run(
    served_template: databases.Template, tmp_path: Path
) -> None:
    if served_template.kind != "postgres":
        pytest.skip("PostgreSQL is not configured (OKNO_TEST_POSTGRES_URL); CI always sets it")
    with served_desk(served_template, tmp_path) as desk:
        engine, db, clock, people, rule_id = desk.engine, desk.db, desk.clock, desk.people, desk.rule_id
        busy, free = make_ticket(db, people.agent.actor), make_ticket(db, people.agent.actor)
        clock.advance(timedelta(hours=1))

        def fired() -> list[int]:
            with db.read() as session:
                return sorted(session.scalars(sa.select(RuleFiring.ticket_id).where(RuleFiring.rule_id == rule_id)))

        with engine.connect() as holder, holder.begin() as held:
            holder.execute(sa.select(Ticket.id).where(Ticket.id == busy).with_for_update())
            with db.write() as session:
                assert timed.run(session, SETTINGS, rule_id=rule_id) == 1  # without waiting for the holder
            assert fired() == [free]
            held.rollback()
        with db.write() as session:
            assert timed.run(session, SETTINGS, rule_id=rule_id) == 1
        assert fired() == sorted([busy, free])


WEEKDAYS_9_18 = {day: [{"start": "09:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}


def moscow_hours(db: Database, people: Personas) -> None:
    from okno.automation.business_hours import service as hours_service
    from okno.automation.business_hours.schemas import CalendarCreate

    data = {"name": "Moscow", "time_zone": "Europe/Moscow", "week": WEEKDAYS_9_18, "team_ids": [people.team_a]}
    with db.write() as session:
        hours_service.create_calendar(session, people.admin.actor, data=CalendarCreate.model_validate(data))


def test_business_time_counts_only_the_teams_hours(
    db: Database, people: Personas, worker: Worker, clock: FrozenClock
) -> None:
    moscow_hours(db, people)
    rule_id = make_rule(
        db,
        people.admin.actor,
        kind="timed",
        triggers=[],
        timer={"state": "awaiting_reply", "minutes": 8 * 60, "business_time": True},
        actions=[act("add_tags", ["eight-business-hours"])],
    )
    # Monday 12:00 in Moscow: six business hours are left today, two more on Tuesday from 09:00.
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    worker.run_pending()
    clock.advance(timedelta(hours=22, minutes=59))  # Tuesday 10:59 Moscow: 7 h 59 min of business time
    run_timed(db, worker)
    assert events(db, ticket_id, "tags_changed") == []
    clock.advance(timedelta(minutes=2))
    run_timed(db, worker)
    assert [e.actor_id for e in events(db, ticket_id, "tags_changed")] == [rule_id]


def test_a_trigger_on_business_hours(db: Database, people: Personas, worker: Worker, clock: FrozenClock) -> None:
    moscow_hours(db, people)
    make_rule(
        db,
        people.admin.actor,
        conditions={"all": [cond("business_hours", "is", "closed")]},
        actions=[act("add_tags", ["after-hours"])],
    )
    during = make_ticket(db, people.agent.actor, team_id=people.team_a)  # Monday 12:00 Moscow
    worker.run_pending()
    clock.advance(timedelta(hours=8))  # 20:00 Moscow
    after = make_ticket(db, people.agent.actor, team_id=people.team_a)
    worker.run_pending()
    assert events(db, during, "tags_changed") == []
    assert [e.data["added"] for e in events(db, after, "tags_changed")] == [["after-hours"]]
