"""Two workers sweeping the same SLA targets at once, on committed data: each warning and breach happens once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from okno.accounts.models import Role
from okno.automation.sla.jobs import SWEEP_JOB
from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database, make_engine
from okno.jobs.registry import JobContext, enqueue
from okno.jobs.worker import Worker
from okno.notifications.models import Notification
from okno.storage import FileStorage
from okno.tickets.models import TicketEvent
from tests import databases
from tests.factories.personas import make_person, make_personas
from tests.factories.sla import make_policy
from tests.factories.tickets import make_ticket

TICKETS = 12
ROUNDS = 3


def race(db: Database, workers: list[Worker]) -> None:
    """Queues several sweeps and lets both workers run them at the same time."""
    with db.write() as session:
        for n in range(len(workers) * ROUNDS):
            enqueue(session, SWEEP_JOB, {}, key=f"test-sweep:{db.clock.now().isoformat()}:{n}")
    start = threading.Barrier(len(workers))

    def drain(worker: Worker) -> None:
        start.wait()
        worker.run_pending()

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def per_ticket(db: Database, kind: str) -> dict[int, int]:
    with db.read() as session:
        rows = session.execute(
            sa.select(TicketEvent.ticket_id, sa.func.count())
            .where(TicketEvent.kind == kind)
            .group_by(TicketEvent.ticket_id)
        )
        return {ticket_id: count for ticket_id, count in rows}


def test_two_workers_warn_and_record_breaches_once(idle_template: databases.Template, tmp_path: Path) -> None:
    engine = make_engine(idle_template.fresh_url(tmp_path))
    try:
        clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        db = Database(engine, clock=clock)
        people = make_personas(db)
        supervisor = make_person(db, email="sup@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
        make_policy(db)
        ids = [
            make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
            for _ in range(TICKETS)
        ]
        context = JobContext(
            settings=Settings(data_dir=tmp_path, sla_warning_minutes=15), storage=FileStorage(tmp_path / "files")
        )
        workers = [Worker(db, context=context, name=f"w{i}") for i in range(2)]
        workers[0].run_pending()  # the reactions to the new tickets

        clock.advance(timedelta(minutes=50))  # ten minutes before the first responses are due
        race(db, workers)
        assert per_ticket(db, "sla_warning") == {ticket_id: 1 for ticket_id in ids}
        with db.read() as session:
            notified = session.execute(
                sa.select(Notification.user_id, sa.func.count()).group_by(Notification.user_id)
            ).all()
        assert sorted(notified) == sorted([(people.agent.user_id, TICKETS), (supervisor.user_id, TICKETS)])

        clock.advance(timedelta(minutes=15))  # five minutes past due
        race(db, workers)
        assert per_ticket(db, "sla_breached") == {ticket_id: 1 for ticket_id in ids}
        assert per_ticket(db, "sla_warning") == {ticket_id: 1 for ticket_id in ids}
        for worker in workers:
            worker.run_pending()  # the reactions to the breach events change nothing
        assert per_ticket(db, "sla_breached") == {ticket_id: 1 for ticket_id in ids}
    finally:
        engine.dispose()
