"""The realtime bus: events reach subscribers after commit, only those allowed, across processes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from okno import realtime
from okno.clock import FrozenClock
from okno.db import Database, make_engine
from okno.realtime import (
    Bus,
    Envelope,
    PostgresTransport,
    RedisTransport,
    Stream,
    Subscriber,
    Transport,
    make_signal,
)
from okno.runtime import Runtime
from okno.tickets.feed import TicketFeed
from tests import databases
from tests.factories.personas import Personas, make_personas
from tests.factories.tickets import make_ticket, reply

REDIS_URL = "redis://127.0.0.1:6379/0"


def drain(subscriber: Subscriber) -> list[Envelope]:
    items = []
    while not subscriber.queue.empty():
        items.append(subscriber.queue.get_nowait())
    return items


def test_events_arrive_after_commit_and_never_for_a_rollback(db: Database, runtime: Runtime, people: Personas) -> None:
    watcher = runtime.bus.subscribe(people.colleague.actor)
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    received = drain(watcher)
    assert [(e.ticket_id, e.kind) for e in received] == [(ticket_id, "created")]
    assert received[0].facts["team_id"] == people.team_a
    with pytest.raises(RuntimeError), db.write():
        make_ticket(db, people.agent.actor)  # a nested unit of work that commits its savepoint...
        raise RuntimeError("...inside an outer one that fails")
    assert [e.kind for e in drain(watcher)] == ["created"]  # published when its own block committed


def test_each_subscriber_gets_only_what_it_may_see(db: Database, runtime: Runtime, people: Personas) -> None:
    billing = runtime.bus.subscribe(people.other_agent.actor)
    customer = runtime.bus.subscribe(people.customer.actor)
    stranger = runtime.bus.subscribe(people.other_customer.actor)
    ticket_id = make_ticket(db, people.customer.actor, subject="Support question")
    with db.write() as session:
        from okno.tickets import changes, service
        from okno.tickets.schemas import MessageCreate, TicketUpdate

        changes.update_ticket(session, people.agent.actor, ticket_id, changes=TicketUpdate(team_id=people.team_a))
        service.add_message(session, people.agent.actor, ticket_id, data=MessageCreate(body="internal", kind="note"))
    reply(db, people.agent.actor, ticket_id, body="Hello Anna")
    assert drain(billing) == []
    assert [e.kind for e in drain(customer)] == ["created", "reply_sent", "status_changed"]
    assert drain(stranger) == []


def test_stream_resumes_from_the_last_id_seen(
    db: Database, runtime: Runtime, people: Personas, clock: FrozenClock
) -> None:
    first = make_ticket(db, people.agent.actor)
    reply(db, people.agent.actor, first)
    # Past the settle window, in which events just below the cursor are sent again (at least once).
    clock.advance(timedelta(minutes=1))
    with db.read() as session:
        backlog = TicketFeed().catch_up(session, people.agent.actor, after_id=0, settle_seconds=0)
    first_event_id = backlog[0].id

    async def read(n: int) -> list[Envelope]:
        stream = Stream(runtime.bus, db.read, people.agent.actor, after_id=first_event_id)
        got: list[Envelope] = []
        async for envelope in stream:
            got.append(envelope)
            if len(got) == n:
                break
        return got

    got = asyncio.run(read(2))
    assert [e.kind for e in got] == ["reply_sent", "status_changed"]
    assert all(e.id > first_event_id for e in got)


def _two_processes(transport_factory: type[Transport] | None, url: str, arg: str) -> None:
    """Two buses with separate transports stand for two server processes."""
    engine = make_engine(url)
    feed = TicketFeed()
    sender_transport = transport_factory(arg)  # type: ignore[call-arg,misc]
    receiver_transport = transport_factory(arg)  # type: ignore[call-arg,misc]
    sender, receiver = Bus(feed, sender_transport), Bus(feed, receiver_transport)
    db = Database(engine, listeners=[sender])
    receiver.start()
    try:
        people = make_personas(db)
        watcher = receiver.subscribe(people.admin.actor)
        time.sleep(0.5)  # the listener connects
        ticket_id = make_ticket(db, people.customer.actor)
        deadline = time.monotonic() + 5
        got: list[Envelope] = []
        while time.monotonic() < deadline and not got:
            got = drain(watcher)
            time.sleep(0.05)
        assert [(e.ticket_id, e.kind) for e in got] == [(ticket_id, "created")]
        # Signals (never stored) take the same way, outside any transaction.
        sender.send_signal(make_signal("presence_changed", actor_id=1, occurred_at="-", data={"status": "away"}))
        deadline = time.monotonic() + 5
        got = []
        while time.monotonic() < deadline and not got:
            got = drain(watcher)
            time.sleep(0.05)
        assert [(e.id, e.kind, e.data) for e in got] == [(0, "presence_changed", {"status": "away"})]
    finally:
        sender.stop()
        receiver.stop()
        engine.dispose()


def test_redis_carries_events_between_processes(sqlite_template: databases.Template, tmp_path: Path) -> None:
    _two_processes(RedisTransport, sqlite_template.fresh_url(tmp_path), REDIS_URL)


def test_postgres_notify_carries_events_between_processes(served_template: databases.Template, tmp_path: Path) -> None:
    if served_template.kind != "postgres":
        pytest.skip("PostgreSQL is not configured (OKNO_TEST_POSTGRES_URL); CI always sets it")
    url = served_template.fresh_url(tmp_path)
    _two_processes(PostgresTransport, url, url.replace("postgresql+psycopg://", "postgresql://"))


def test_a_process_with_no_viewer_leaves_what_others_publish_undecoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    original = realtime.decode

    def counting(payload: str | bytes) -> list[Envelope]:
        envelopes = original(payload)
        decoded.extend(envelope.actor_id or 0 for envelope in envelopes)
        return envelopes

    monkeypatch.setattr(realtime, "decode", counting)
    sender, receiver = RedisTransport(REDIS_URL), RedisTransport(REDIS_URL)
    received: list[Envelope] = []
    asked: list[bool] = []

    def listened() -> bool:
        """Asked once per message: nobody watches at the first, someone does from the second on."""
        asked.append(bool(asked))
        return asked[-1]

    receiver.start(received.extend, listened=listened)
    try:
        time.sleep(0.5)  # the listener subscribes
        for actor_id in (1, 2):
            sender.send_now([make_signal("presence_changed", actor_id=actor_id, occurred_at="-", data={})])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(asked) < actor_id:
                time.sleep(0.02)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not received:
            time.sleep(0.02)
        assert asked == [False, True]
        assert [e.actor_id for e in received] == [2] and decoded == [2]
    finally:
        receiver.stop()
        sender.stop()
