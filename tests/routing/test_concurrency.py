"""Two workers routing at once never push an agent past capacity (committed data, real concurrency).

On PostgreSQL (when configured) the routing rows' FOR UPDATE locks are what is tested: two
worker threads route a stream of chats to one agent while the agent keeps solving them, and
a watcher reads the agent's committed load the whole time.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa

from okno.accounts import presence
from okno.accounts import service as accounts_service
from okno.accounts.models import PresenceStatus, Role
from okno.accounts.schemas import TeamCreate
from okno.config import Settings
from okno.db import Database, make_engine
from okno.jobs import catalog  # noqa: F401  (registers the jobs and the routing reaction)
from okno.jobs.models import Job, JobStatus
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.routing import profiles
from okno.routing.schemas import AgentRoutingUpdate, TeamRoutingUpdate
from okno.storage import FileStorage
from okno.tickets import changes
from okno.tickets.models import Ticket, TicketStatus
from okno.tickets.schemas import TicketUpdate
from tests import databases
from tests.factories.personas import make_person
from tests.factories.tickets import make_ticket

CAPACITY = 3
ROUNDS = 12
CHATS_PER_ROUND = 5
OPEN = [TicketStatus.new.value, TicketStatus.open.value, TicketStatus.pending.value]


def test_two_workers_never_push_one_agent_past_capacity(served_template: databases.Template, tmp_path: Path) -> None:
    engine = make_engine(served_template.fresh_url(tmp_path), pool_size=6)
    try:
        db = Database(engine)
        admin = make_person(db, email="admin@example.com", role=Role.admin)
        with db.write() as session:
            team_id = accounts_service.create_team(session, admin.actor, data=TeamCreate(name="Chat")).id
        agent = make_person(db, email="agent@example.com", role=Role.agent, team_ids=[team_id])
        with db.write() as session:
            profiles.update_team(session, admin.actor, team_id, changes=TeamRoutingUpdate(policy="least_loaded"))  # type: ignore[arg-type]
            profiles.update_agent(
                session,
                admin.actor,
                agent.user_id,
                changes=AgentRoutingUpdate(capacities={"chat": CAPACITY}),
                presence_timeout_seconds=90,
            )
            presence.set_status(session, agent.actor, PresenceStatus.online)
        context = JobContext(settings=Settings(data_dir=tmp_path), storage=FileStorage(tmp_path / "files"))
        workers = [Worker(db, context=context, name=f"w{i}") for i in range(2)]
        stop = threading.Event()
        ran = [0, 0]
        worst = [0]

        def work(index: int) -> None:
            while not stop.is_set():
                report = workers[index].run_pending()
                ran[index] += report.done
                if not report.done:
                    time.sleep(0.002)

        def watch() -> None:
            query = sa.select(sa.func.count()).where(Ticket.assignee_id == agent.user_id, Ticket.status.in_(OPEN))
            while not stop.is_set():
                with db.read() as session:
                    worst[0] = max(worst[0], int(session.scalar(query) or 0))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)] + [threading.Thread(target=watch)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(ROUNDS):
                for _ in range(CHATS_PER_ROUND):
                    make_ticket(db, admin.actor, team_id=team_id, channel="chat")
                time.sleep(0.05)
                # The agent solves what they have, while the workers route on.
                with db.write() as session:
                    mine = session.scalars(
                        sa.select(Ticket.id).where(Ticket.assignee_id == agent.user_id, Ticket.status.in_(OPEN))
                    ).all()
                    for ticket_id in mine:
                        changes.update_ticket(
                            session, agent.actor, ticket_id, changes=TicketUpdate(status=TicketStatus.solved)
                        )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with db.read() as session:
                    left = session.scalar(sa.select(sa.func.count()).where(Job.status == JobStatus.queued))
                if not left:
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        with db.read() as session:
            assigned = session.scalar(
                sa.select(sa.func.count()).where(Ticket.assignee_id == agent.user_id, Ticket.status.in_(OPEN))
            )
            routed = session.scalar(sa.select(sa.func.count()).where(Ticket.assignee_id == agent.user_id))
            dead = session.scalar(sa.select(sa.func.count()).where(Job.status == JobStatus.dead))
        assert dead == 0
        assert all(ran), ran  # both workers took part
        assert worst[0] <= CAPACITY, worst
        assert assigned == CAPACITY  # and the agent was kept full: nothing waited while there was room
        assert routed > ROUNDS  # the room every round freed was filled again
    finally:
        engine.dispose()
