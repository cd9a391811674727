"""Reactions to ticket changes: one job per changed ticket, in order, one round deeper each time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno import memo
from okno.accounts.permissions import Actor
from okno.config import Settings
from okno.db import Database
from okno.jobs.models import Job
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.storage import FileStorage
from okno.tickets import automation_facts, changes, reactions
from okno.tickets import spam as tickets_spam
from okno.tickets.models import Priority, Tag, Ticket, TicketEvent
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


def named(name: str) -> reactions.Reaction:
    def run(session: Session, change: reactions.Change, context: JobContext) -> None:
        seen.append((name, change, _kinds(session, change)))

    return run


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


def test_the_job_carries_its_events_so_reactions_do_not_read_them_again(
    db: Database, people: Personas, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})  # only the reaction below
    facts: list[list[automation_facts.EventFact]] = []
    reads: list[str] = []

    def read_events(session: Session, change: reactions.Change, context: JobContext) -> None:
        connection = session.connection()

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if "ticket_events" in statement and statement.lstrip().upper().startswith("SELECT"):
                reads.append(statement)

        sa.event.listen(connection, "before_cursor_execute", count)
        try:
            facts.append(automation_facts.events(session, list(change.event_ids)))
        finally:
            sa.event.remove(connection, "before_cursor_execute", count)

    reactions.reaction("tests.read_events", order=100)(read_events)
    ticket_id = make_ticket(db, people.agent.actor)
    update(db, people.agent.actor, ticket_id, priority="urgent", tags=["vip"])
    carried = react_jobs(db)[-1].payload["events"]
    assert [kind for _, kind, *_ in carried] == ["priority_changed", "tags_changed"]
    worker.run_pending()
    assert reads == []
    with db.read() as session:
        stored = [automation_facts.events(session, [event.id for event in found]) for found in facts]
    assert facts == stored
    assert [fact.kind for fact in facts[1]] == ["priority_changed", "tags_changed"]
    assert facts[1][0].actor_type == "user" and facts[1][0].actor_id == people.agent.user_id
    assert facts[1][0].data == {"old": "normal", "new": "urgent"}


def test_nothing_is_queued_when_no_reaction_is_registered(
    db: Database, people: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})  # without the domains' own (rules, ...)
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


def test_marks_are_carried_down_the_chain(db: Database, people: Personas, worker: Worker, registered: None) -> None:
    def marker(session: Session, change: reactions.Change, context: JobContext) -> None:
        seen.append(("marker", change, []))
        reactions.mark(session, f"round:{change.depth}")
        if change.depth < 2:
            ticket = session.get(Ticket, change.ticket_id)
            assert ticket is not None
            priority = Priority.high if ticket.priority != Priority.high else Priority.low
            changes.update_ticket(session, Actor.system("rule"), ticket.id, changes=TicketUpdate(priority=priority))

    reactions.reaction("tests.escalate", order=100)(marker)
    make_ticket(db, people.agent.actor)
    for _ in range(5):
        worker.run_pending()
    marks = [sorted(change.marks) for name, change, _ in seen if name == "marker"]
    assert marks == [[], ["round:0"], ["round:0", "round:1"]]


def test_a_change_no_reaction_takes_queues_nothing(
    db: Database, people: Personas, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})
    monkeypatch.setattr(memo, "MEMO_SECONDS", 0.0)  # every change looks afresh
    enabled = {"rules": False}
    reactions.reaction("tests.priority", order=200, kinds=["priority_changed"])(named("tests.priority"))
    reactions.reaction("tests.rules", order=100, wanted=lambda session, kinds: enabled["rules"])(named("tests.rules"))
    seen.clear()
    ticket_id = make_ticket(db, people.agent.actor)
    assert react_jobs(db) == []  # "created" is not a kind the one reaction takes, the other one is off
    update(db, people.agent.actor, ticket_id, tags=["vip"])
    assert react_jobs(db) == []
    update(db, people.agent.actor, ticket_id, priority="urgent")
    enabled["rules"] = True
    update(db, people.agent.actor, ticket_id, tags=["vip", "later"])
    assert [job.payload["ticket_id"] for job in react_jobs(db)] == [ticket_id, ticket_id]
    worker.run_pending()
    # Each job runs the reactions that took its change, and only those.
    assert [(name, kinds) for name, _, kinds in seen] == [
        ("tests.priority", ["priority_changed"]),
        ("tests.rules", ["tags_changed"]),
    ]


def test_a_look_is_reused_until_a_unit_of_work_changes_what_it_reads(
    db: Database, people: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})
    looked: list[frozenset[str]] = []

    def tagged_rules(session: Session, kinds: frozenset[str]) -> bool:
        looked.append(kinds)
        return session.scalar(sa.select(sa.func.count()).select_from(Tag).where(Tag.name == "rules-on")) == 1

    reactions.reaction("tests.rules", order=100, wanted=tagged_rules, wanted_reads=(Tag,))(named("tests.rules"))
    ticket_id = make_ticket(db, people.agent.actor)
    update(db, people.agent.actor, ticket_id, priority="high")
    update(db, people.agent.actor, ticket_id, priority="urgent")
    assert looked == [frozenset({"created"}), frozenset({"priority_changed"})]  # the second change reused its look
    assert react_jobs(db) == []
    with db.write() as session:
        session.add(Tag(name="rules-on", created_at=sa.func.now()))  # type: ignore[arg-type]
    update(db, people.agent.actor, ticket_id, priority="low")
    assert looked[-1] == frozenset({"priority_changed"}) and len(looked) == 3  # forgotten when the tag committed
    assert len(react_jobs(db)) == 1


def test_a_ticket_in_spam_gets_no_reactions_but_those_that_hear_of_its_marking(
    db: Database, people: Personas, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reactions, "_reactions", {})
    reactions.reaction("tests.rules", order=100)(named("tests.rules"))
    reactions.reaction("tests.sla", order=300, in_spam=True)(named("tests.sla"))
    seen.clear()
    ticket_id = make_ticket(db, people.agent.actor, assignee_id=people.agent.user_id)
    worker.run_pending()
    seen.clear()
    with db.write() as session:
        tickets_spam.mark(session, people.agent.actor, ticket_id, details={"reason": "manual"})
        changes.update_ticket(session, people.agent.actor, ticket_id, changes=TicketUpdate(priority=Priority.high))
    update(db, people.agent.actor, ticket_id, tags=["spam-wave"])
    worker.run_pending()
    # Of the marking's change only the marking, and only to the reaction that asked; the later change: nothing.
    assert [(name, kinds) for name, _, kinds in seen] == [("tests.sla", ["marked_spam"])]

    seen.clear()
    with db.write() as session:
        tickets_spam.unmark(session, people.agent.actor, ticket_id, details={})
    worker.run_pending()
    assert [(name, kinds) for name, _, kinds in seen] == [
        ("tests.rules", ["unmarked_spam"]),
        ("tests.sla", ["unmarked_spam"]),
    ]


def test_a_change_is_left_alone_when_its_ticket_went_into_spam_before_the_job_ran(
    db: Database, people: Personas, worker: Worker, registered: None
) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    with db.write() as session:
        tickets_spam.mark(session, people.agent.actor, ticket_id, details={"reason": "manual"})
    worker.run_pending()
    assert seen == []
