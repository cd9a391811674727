"""Collision signals: who views and who types reaches exactly those who may see the ticket."""

from __future__ import annotations

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.db import Database
from okno.realtime import Envelope, Subscriber
from okno.runtime import Runtime
from okno.tickets.viewers import TicketViewers
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket


def drain(subscriber: Subscriber) -> list[Envelope]:
    items = []
    while not subscriber.queue.empty():
        items.append(subscriber.queue.get_nowait())
    return items


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_viewing_and_typing_reach_only_those_who_may_see_the_ticket(
    db: Database, runtime: Runtime, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    colleague = runtime.bus.subscribe(people.colleague.actor)
    billing = runtime.bus.subscribe(people.other_agent.actor)  # team B only
    customer = runtime.bus.subscribe(people.customer.actor)
    drain(colleague)
    page = TicketViewers(runtime.bus, db.read, people.agent.actor, db.clock)

    page.receive({"type": "viewing", "ticket_id": ticket_id})
    page.receive({"type": "typing", "ticket_id": ticket_id, "composing": "note"})

    got = drain(colleague)
    assert [(e.id, e.kind, e.ticket_id) for e in got] == [(0, "viewing", ticket_id), (0, "typing", ticket_id)]
    assert got[1].data == {"user_id": people.agent.user_id, "name": people.agent.actor.name, "composing": "note"}
    assert drain(billing) == [] and drain(customer) == []

    page.close()
    assert [e.kind for e in drain(colleague)] == ["stopped_viewing"]


def test_a_ticket_the_agent_may_not_see_sends_nothing(db: Database, runtime: Runtime, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    watcher = runtime.bus.subscribe(people.admin.actor)
    page = TicketViewers(runtime.bus, db.read, people.other_agent.actor, db.clock)  # limited to team B
    for message in (
        {"type": "viewing", "ticket_id": ticket_id},
        {"type": "viewing", "ticket_id": 10**9},
        {"type": "viewing", "ticket_id": str(ticket_id)},
        {"type": "shout", "ticket_id": ticket_id},
        ["not", "a", "dict"],
    ):
        page.receive(message)
    page.close()
    assert drain(watcher) == []


def test_customers_send_no_collision_signals(db: Database, runtime: Runtime, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor)
    watcher = runtime.bus.subscribe(people.admin.actor)
    drain(watcher)
    TicketViewers(runtime.bus, db.read, people.customer.actor, db.clock).receive(
        {"type": "typing", "ticket_id": ticket_id}
    )
    assert drain(watcher) == []


def test_a_chatty_page_is_throttled(db: Database, runtime: Runtime, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    watcher = runtime.bus.subscribe(people.colleague.actor)
    drain(watcher)
    monotonic = FakeMonotonic()
    page = TicketViewers(runtime.bus, db.read, people.agent.actor, db.clock, monotonic=monotonic)
    for _ in range(20):
        page.receive({"type": "typing", "ticket_id": ticket_id})
    monotonic.now += 2.5
    page.receive({"type": "typing", "ticket_id": ticket_id})
    assert [e.kind for e in drain(watcher)] == ["typing"] * 4  # a burst of three, then one every 2 s


def test_presence_changes_reach_staff_after_commit(db: Database, runtime: Runtime, people: Personas) -> None:
    colleague = runtime.bus.subscribe(people.colleague.actor)
    customer = runtime.bus.subscribe(people.customer.actor)
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    got = drain(colleague)
    assert [(e.kind, e.data) for e in got] == [
        ("presence_changed", {"user_id": people.agent.user_id, "status": "online"})
    ]
    assert drain(customer) == []
