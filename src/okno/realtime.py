"""The realtime bus: committed events, pushed to whoever may see them.

Events are published only after their transaction commits: on PostgreSQL a NOTIFY sent
inside the transaction (PostgreSQL delivers it exactly at commit, to every process); with
Redis a PUBLISH right after commit; in a single process a direct fan-out after commit.
Each process fans out to its own subscribers, filtered per subscriber by the permission
layer (through the feed). A subscriber that reconnects resumes from the last event id it
saw: the missed events are read back from the event log, so nothing is lost.

Event ids are allocated before commit, so two transactions can commit out of id order.
Resuming therefore also re-reads a short settle window and callers de-duplicate by id
(``Stream`` does), see docs/subsystems/realtime.md.

Besides logged events the bus carries **signals**: passing facts that are never stored
(who is viewing a ticket, who is typing, an agent's presence). A signal has id 0, is never
replayed to a subscriber that reconnects, and is shown to the same people as its ticket's
events (or, with the ``staff`` audience, to every staff member).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "okno_events"
ENVELOPES_KEY = "okno.envelopes"
SIGNALS_KEY = "okno.signals"
SIGNAL_ID = 0
STAFF_AUDIENCE = {"audience": "staff"}
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
MAX_NOTIFY_BYTES = 7000
SETTLE_SECONDS = 10


@dataclass(frozen=True)
class Envelope:
    id: int
    ticket_id: int
    kind: str
    actor_type: str
    actor_id: int | None
    occurred_at: str
    data: dict[str, Any]
    # Who may see it, as committed (ids only): team, assignee, customer, organization, participants.
    facts: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("facts")
        return body

    @property
    def is_signal(self) -> bool:
        return self.id == SIGNAL_ID


def make_signal(
    kind: str,
    *,
    actor_id: int | None,
    occurred_at: str,
    data: dict[str, Any],
    ticket_id: int = 0,
    facts: dict[str, Any] | None = None,
) -> Envelope:
    """A passing fact for live pages, never stored; ``facts`` decide who sees it (staff by default)."""
    return Envelope(
        id=SIGNAL_ID,
        ticket_id=ticket_id,
        kind=kind,
        actor_type="user",
        actor_id=actor_id,
        occurred_at=occurred_at,
        data=data,
        facts=dict(facts if facts is not None else STAFF_AUDIENCE),
    )


def signal_after_commit(session: Session, envelope: Envelope) -> None:
    """Sends a signal with the unit of work's commit (and never if it rolls back)."""
    session.info.setdefault(SIGNALS_KEY, []).append(envelope)


class Feed(Protocol):
    """What the bus needs to know about the events it carries (the tickets domain provides it)."""

    def envelopes(self, session: Session) -> list[Envelope]:
        """The events this unit of work recorded, with their visibility facts."""
        ...

    def catch_up(self, session: Session, viewer: Any, *, after_id: int, settle_seconds: int) -> list[Envelope]: ...

    def visible(self, viewer: Any, envelope: Envelope) -> bool: ...


class Subscriber:
    """One live consumer (a WebSocket, a test): envelopes it may see land in its queue."""

    def __init__(self, bus: Bus, viewer: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.bus = bus
        self.viewer = viewer
        self.loop = loop
        self.queue: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=10_000)
        self.overflowed = False

    def deliver(self, envelope: Envelope) -> None:
        if self.loop is None:
            self._put(envelope)
        else:
            self.loop.call_soon_threadsafe(self._put, envelope)

    def _put(self, envelope: Envelope) -> None:
        try:
            self.queue.put_nowait(envelope)
        except asyncio.QueueFull:
            # A consumer this far behind reconnects and resumes from the log.
            self.overflowed = True

    def close(self) -> None:
        self.bus.unsubscribe(self)


class Transport(Protocol):
    def in_transaction(self, session: Session, envelopes: list[Envelope]) -> None: ...

    def after_commit(self, envelopes: list[Envelope]) -> None: ...

    def send_now(self, envelopes: list[Envelope]) -> None:
        """Outside any transaction: for signals, which nothing has to commit first."""
        ...

    def start(self, dispatch: Callable[[list[Envelope]], None], *, listened: Callable[[], bool]) -> None:
        """Hands what is published to ``dispatch``; what other processes publish only while ``listened()``.

        A process with no live viewer (an API-only one, or a quiet hour) then does not decode every
        event of every process for nothing.
        """
        ...

    def stop(self) -> None: ...


def encode(envelopes: list[Envelope]) -> list[str]:
    """JSON payloads of at most MAX_NOTIFY_BYTES each."""
    chunks: list[str] = []
    batch: list[dict[str, Any]] = []
    size = 2
    for envelope in envelopes:
        item = asdict(envelope)
        length = len(json.dumps(item)) + 1
        if batch and size + length > MAX_NOTIFY_BYTES:
            chunks.append(json.dumps(batch))
            batch, size = [], 2
        batch.append(item)
        size += length
    if batch:
        chunks.append(json.dumps(batch))
    return chunks


def decode(payload: str | bytes) -> list[Envelope]:
    return [Envelope(**item) for item in json.loads(payload)]


class Bus:
    """Commit listener and fan-out point. One per process."""

    def __init__(self, feed: Feed, transport: Transport | None = None) -> None:
        self.feed = feed
        self.transport: Transport = transport or MemoryTransport()
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    # --- commit listener ---------------------------------------------------------------------
    def before_commit(self, session: Session) -> None:
        envelopes = self.feed.envelopes(session) + session.info.pop(SIGNALS_KEY, [])
        if envelopes:
            session.info[ENVELOPES_KEY] = envelopes
            self.transport.in_transaction(session, envelopes)

    def after_commit(self, info: dict[str, Any]) -> None:
        envelopes = info.get(ENVELOPES_KEY)
        if envelopes:
            self.transport.after_commit(envelopes)

    # --- subscribers ---------------------------------------------------------------------------
    def subscribe(self, viewer: Any, *, loop: asyncio.AbstractEventLoop | None = None) -> Subscriber:
        subscriber = Subscriber(self, viewer, loop)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def send_signal(self, envelope: Envelope) -> None:
        """Publishes a signal to every process at once (called from a worker thread: it may block briefly)."""
        try:
            self.transport.send_now([envelope])
        except Exception:
            # A lost signal only delays an indicator until the next one; nothing is stored.
            log.exception("could not send a %s signal", envelope.kind)

    def dispatch(self, envelopes: list[Envelope]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for envelope in envelopes:
            for subscriber in subscribers:
                if self.feed.visible(subscriber.viewer, envelope):
                    subscriber.deliver(envelope)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def start(self) -> None:
        self.transport.start(self.dispatch, listened=lambda: self.subscriber_count > 0)

    def stop(self) -> None:
        self.transport.stop()


class Stream:
    """Catch-up from the log, then live events, each id once: the resumable view for one viewer."""

    def __init__(self, bus: Bus, read_session: Callable[[], Any], viewer: Any, *, after_id: int | None) -> None:
        self.bus = bus
        self.read_session = read_session
        self.viewer = viewer
        self.after_id = after_id
        self._seen: OrderedDict[int, None] = OrderedDict()

    def _fresh(self, envelope: Envelope) -> bool:
        if envelope.is_signal:
            return True
        if envelope.id in self._seen:
            return False
        self._seen[envelope.id] = None
        if len(self._seen) > 50_000:
            self._seen.popitem(last=False)
        return True

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        subscriber = self.bus.subscribe(self.viewer, loop=asyncio.get_running_loop())
        try:
            if self.after_id is not None:
                # Subscribed first, then read the log: nothing can fall between the two.
                backlog = await asyncio.to_thread(self._catch_up, self.after_id)
                for envelope in backlog:
                    if self._fresh(envelope):
                        yield envelope
            while True:
                envelope = await subscriber.queue.get()
                if subscriber.overflowed:
                    raise OverflowError("subscriber fell too far behind; resume from the last id")
                if self._fresh(envelope):
                    yield envelope
        finally:
            subscriber.close()

    def _catch_up(self, after_id: int) -> list[Envelope]:
        with self.read_session() as session:
            return self.feed_catch_up(session, after_id)

    def feed_catch_up(self, session: Session, after_id: int) -> list[Envelope]:
        return self.bus.feed.catch_up(session, self.viewer, after_id=after_id, settle_seconds=SETTLE_SECONDS)


class MemoryTransport:
    """One process: fan out right after commit."""

    def __init__(self) -> None:
        self._dispatch: Callable[[list[Envelope]], None] | None = None

    def in_transaction(self, session: Session, envelopes: list[Envelope]) -> None:
        return None

    def after_commit(self, envelopes: list[Envelope]) -> None:
        if self._dispatch is not None:
            self._dispatch(envelopes)

    def send_now(self, envelopes: list[Envelope]) -> None:
        self.after_commit(envelopes)

    def start(self, dispatch: Callable[[list[Envelope]], None], *, listened: Callable[[], bool]) -> None:
        self._dispatch = dispatch  # nothing to decode: ``dispatch`` finds the viewers, if any

    def stop(self) -> None:
        self._dispatch = None


class _ListenerThread:
    """Runs a blocking listen loop in a daemon thread, reconnecting after errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_loop(self, listen_once: Callable[[threading.Event], None]) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    listen_once(self._stop)
                except Exception:
                    log.exception("%s listener failed; reconnecting", self.name)
                    self._stop.wait(1.0)

        self._thread = threading.Thread(target=loop, name=f"okno-{self.name}-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class PostgresTransport:
    """NOTIFY inside the transaction (delivered at commit), LISTEN on a dedicated connection."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._listener = _ListenerThread("postgres")
        self._sender: Any = None
        self._sender_lock = threading.Lock()

    def in_transaction(self, session: Session, envelopes: list[Envelope]) -> None:
        from sqlalchemy import text

        for payload in encode(envelopes):
            session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})

    def after_commit(self, envelopes: list[Envelope]) -> None:
        return None  # the NOTIFY already went out with the commit

    def send_now(self, envelopes: list[Envelope]) -> None:
        import psycopg

        with self._sender_lock:
            for attempt in (1, 2):
                if self._sender is None or self._sender.closed:
                    self._sender = psycopg.connect(self.conninfo, autocommit=True)
                try:
                    for payload in encode(envelopes):
                        self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.OperationalError:
                    self._sender.close()  # a dropped connection: one fresh try
                    if attempt == 2:
                        raise

    def start(self, dispatch: Callable[[list[Envelope]], None], *, listened: Callable[[], bool]) -> None:
        import psycopg

        def listen_once(stop: threading.Event) -> None:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for notify in conn.notifies(timeout=0.5):
                        if listened():
                            dispatch(decode(notify.payload))

        self._listener.start_loop(listen_once)

    def stop(self) -> None:
        self._listener.stop()
        with self._sender_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None


class RedisTransport:
    """PUBLISH after commit, SUBSCRIBE in a listener thread: for several processes on SQLite."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self._listener = _ListenerThread("redis")

    def in_transaction(self, session: Session, envelopes: list[Envelope]) -> None:
        return None

    def after_commit(self, envelopes: list[Envelope]) -> None:
        try:
            for payload in encode(envelopes):
                self.client.publish(CHANNEL, payload)
        except Exception:
            # Committed data is safe; live viewers catch up from the log when they resume.
            log.exception("could not publish %s events to Redis", len(envelopes))

    def send_now(self, envelopes: list[Envelope]) -> None:
        for payload in encode(envelopes):
            self.client.publish(CHANNEL, payload)

    def start(self, dispatch: Callable[[list[Envelope]], None], *, listened: Callable[[], bool]) -> None:
        def listen_once(stop: threading.Event) -> None:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            pubsub.subscribe(CHANNEL)
            try:
                while not stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and listened():
                        dispatch(decode(message["data"]))
            finally:
                pubsub.close()

        self._listener.start_loop(listen_once)

    def stop(self) -> None:
        self._listener.stop()
        self.client.close()
