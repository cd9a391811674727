"""Reactions to ticket changes: one job per changed ticket, in order, one round deeper each time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.config import Settings
from okno.db import Database
from okno.jobs.models import Job
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.storage import FileStorage
from okno.tickets import changes, reactions
from okno.tickets.models import Priority, Ticket, TicketEvent
from okno.tickets.schemas import TicketUpdate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, update

seen: list[tuple[str, reactions.Change, list[str]]] = []


def _kinds(session: Session, change: reactions.Change) -> list[str]:
    query = sa.select(TicketEvent.kind).where(TicketEvent.id.in_(change.event_ids)).order_by(TicketEvent.id)
    return list(session.scalars(query))


def escalate_urgent_words(session: Session, change: reactions.Change, context: JobContext) -> None:
    seen.append(("escalate", change, _kinds(session, change)))
    ticket = session.get(Ticket, change.ticket_id)
    assert ticket is not None
    # A careless rule: it changes the ticket on every round, so only the depth limit stops it.
    next_priority = Priority.high if ticket.priority != Priority.high else Priority.normal
    changes.update_ticket(session, Actor.system("rule"), ticket.id, changes=TicketUpdate(priority=next_priority))


def watch(session: Session, change: reactions.Change, context: JobContext) -> None:
    seen.append(("watch", change, _kinds(session, change)))


@pytest.fixture
def registered() -> Iterator[None]:
    seen.clear()
    reactions.reaction("tests.watch", order=900)(watch)
    yield
    reactions.unregister("tests.watch")
    reactions.unregister("tests.escalate")


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Worker:
    context = JobContext(settings=Settings(data_dir=tmp_path), storage=FileStorage(tmp_path / "files"))
    return Worker(db, context=context, name="w1")


def react_jobs(db: Database) -> list[Job]:
    with db.read() as session:
        return list(session.scalars(sa.select(Job).where(Job.name == reactions.REACT_JOB).order_by(Job.id)))


def test_one_job_per_changed_ticket_with_its_new_events(
    db: Database, people: Personas, worker: Worker, registered: None
) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    update(db, people.agent.actor, ticket_id, priority="urgent", tags=["vip"])
    payloads = [job.payload for job in react_jobs(db)]
    assert [p["ticket_id"] for p in payloads] == [ticket_id, ticket_id]
    assert all(p["depth"] == 0 for p in payloads)
    worker.run_pending()
    assert [(name, kinds) for name, _, kinds in seen] == [
        ("watch", ["created"]),
        ("watch", ["priority_changed", "tags_changed"]),
    ]


def test_nothing_is_queued_when_no_reaction_is_registered(
    db: Database, people: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})  # the domains' own (routing) set aside
    assert reactions.registered() == []
    make_ticket(db, people.agent.actor)
    assert react_jobs(db) == []


def test_reactions_run_in_order_and_a_chain_stops_at_the_depth_limit(
    db: Database, people: Personas, worker: Worker, registered: None
) -> None:
    reactions.reaction("tests.escalate", order=100)(escalate_urgent_words)
    ticket_id = make_ticket(db, people.agent.actor)
    for _ in range(reactions.MAX_DEPTH + 3):
        worker.run_pending()
    rounds = [(name, change.depth) for name, change, _ in seen]
    assert rounds[:4] == [("escalate", 0), ("watch", 0), ("escalate", 1), ("watch", 1)]
    assert max(depth for _, depth in rounds) == reactions.MAX_DEPTH - 1
    assert all(job.status == "done" for job in react_jobs(db))
    with db.read() as session:
        changed = session.scalar(
            sa.select(sa.func.count())
            .select_from(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "priority_changed")
        )
    assert changed == reactions.MAX_DEPTH
