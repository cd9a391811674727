"""Engines, sessions and the unit of work: the only place in Okno that commits.

One request, job or CLI command is one transaction, opened and committed here. Services
only ``flush()``. Listeners (the realtime bus, the worker's wake-up) get a look at the
session right before the commit (PostgreSQL NOTIFY is sent inside the transaction, so it
is delivered exactly when the commit lands) and right after it (in-process fan-out).

SQLite runs in WAL mode with foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing halfway
through with "database is locked" when a read lock cannot be upgraded.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from okno.clock import Clock, SystemClock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# Rows that can be deleted while the event log still names their ids: on SQLite their ids must
# never be handed out again (plain INTEGER PRIMARY KEY reuses the highest id after a delete).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


# 64-bit ids on PostgreSQL; on SQLite only a plain INTEGER primary key is the rowid alias.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONData = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on both databases; a naive datetime is a bug and is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the clock (aware UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CommitListener(Protocol):
    def before_commit(self, session: Session) -> None: ...

    def after_commit(self, info: dict[str, Any]) -> None: ...


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would defeat BEGIN IMMEDIATE and savepoints.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: an acknowledged message survives a power cut, not only a killed process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("okno_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool_size: int = 10, busy_timeout_ms: int = 10_000) -> Engine:
    if url.startswith("sqlite"):
        in_memory = url in {"sqlite://", "sqlite:///:memory:"}
        pool_args: dict[str, Any] = (
            {"poolclass": StaticPool} if in_memory else {"pool_size": pool_size, "max_overflow": pool_size}
        )
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}, **pool_args
        )
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine)
    return engine


# A connection in steady use is not pinged before every checkout, as ``pool_pre_ping`` would: that
# is a round trip for every job and request. One left idle for a while may have been cut (a server
# restart, a firewall) and is pinged first. One broken since its last use moments ago fails its unit
# of work once, which is retried (a job) or answered 500 (a request); SQLAlchemy then discards the
# pool's older connections too.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "okno.idle_since"


def _ping_when_idle(engine: Engine) -> None:
    @sa.event.listens_for(engine, "checkin")
    def idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise sa.exc.DisconnectionError("the connection was closed while idle")  # the pool connects afresh


class Database:
    """Owns the engine and hands out units of work."""

    def __init__(
        self,
        engine: Engine | Connection,
        *,
        clock: Clock | None = None,
        listeners: list[CommitListener] | None = None,
    ) -> None:
        self.bind = engine
        self.clock: Clock = clock or SystemClock()
        self.listeners: list[CommitListener] = list(listeners or [])
        # Put into every session's ``info`` beside the clock (e.g. where the installation's secret
        # key comes from, okno.crypto.sealer_for), so services reach them through the session.
        self.session_info: dict[str, Any] = {_SHARED_KEY: {}}
        self.dialect_name = engine.dialect.name
        if isinstance(engine, Connection):
            # Test mode: everything happens inside the caller's outer transaction.
            factory = sessionmaker(bind=engine, join_transaction_mode="create_savepoint", expire_on_commit=False)
            self._write_factory = self._read_factory = factory
        else:
            write_bind = engine.execution_options(okno_begin="IMMEDIATE")
            self._write_factory = sessionmaker(bind=write_bind, expire_on_commit=False)
            self._read_factory = sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect_name == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction that may write; committed when the block ends without an error."""
        session = self._write_factory(info={"okno.clock": self.clock, **self.session_info})
        try:
            yield session
            session.flush()
            for callback in session.info.pop(_BEFORE_COMMIT_KEY, {}).values():
                callback(session)
            session.flush()
            for listener in self.listeners:
                listener.before_commit(session)
            session.commit()
            info = dict(session.info)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for listener in self.listeners:
            listener.after_commit(info)
        for callback in info.get(_ON_COMMIT_KEY, []):
            callback()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction; anything written in it is rolled back (closing ends it)."""
        session = self._read_factory(info={"okno.clock": self.clock, **self.session_info})
        try:
            yield session
        finally:
            # close() rolls back without expiring what was loaded, so results stay readable.
            session.close()

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()

    def try_hold(self, name: str) -> HeldLock | None:
        """The installation-wide lock ``name`` if no other holder has it (for work one process does).

        It lasts until released or until its holder dies: on PostgreSQL it is an advisory lock on a
        connection of its own (a crashed process's connection closes, freeing it); on SQLite, whose
        processes all run on one machine, a lock on a file beside the database.
        """
        url = self.bind.engine.url
        if self.dialect_name == "postgresql":
            connection = self.bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.detach()  # closed for real when released, never handed back to the pool still locked
            key = int.from_bytes(hashlib.sha256(b"okno.lock:" + name.encode()).digest()[:8], "big", signed=True)
            if connection.scalar(sa.select(sa.func.pg_try_advisory_lock(key))):
                return _AdvisoryLock(connection)
            connection.close()
            return None
        if not url.database or url.database == ":memory:":
            return _ProcessLock()  # an in-memory database has only this process
        fd = os.open(f"{url.database}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return _FileLock(fd)


class HeldLock(Protocol):
    def held(self) -> bool:
        """False once the lock is lost (its connection broke): the work it guarded must stop."""
        ...

    def release(self) -> None: ...


class _AdvisoryLock:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def held(self) -> bool:
        try:
            self.connection.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError:
            return False
        return True

    def release(self) -> None:
        with contextlib.suppress(sa.exc.DBAPIError):
            self.connection.close()


class _FileLock:
    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _ProcessLock:
    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None


_ON_COMMIT_KEY = "okno.on_commit"
_BEFORE_COMMIT_KEY = "okno.before_commit"
_KEPT_KEY = "okno.kept"
_SHARED_KEY = "okno.shared"


def before_commit(session: Session, name: str, callback: Callable[[Session], None]) -> None:
    """Runs ``callback(session)`` inside the unit of work, after its last change, just before it commits.

    For work derived from everything the transaction did (the jobs that react to its ticket
    events), which no single step of it can do alone. Registered once per ``name``; a rollback
    skips it.
    """
    session.info.setdefault(_BEFORE_COMMIT_KEY, {}).setdefault(name, callback)


def shared(session: Session) -> dict[str, Any]:
    """A dict that every unit of work of one ``Database`` in this process shares.

    For what one unit of work may reuse from another (a look at settings that rarely change),
    never for what must be read afresh: it outlives transactions and ignores other processes.
    """
    found: dict[str, Any] = session.info.setdefault(_SHARED_KEY, {})  # a session made without a Database: its own
    return found


def keep(session: Session, obj: object) -> None:
    """Keeps ``obj`` in the session until the unit of work ends.

    A session holds the objects it loaded weakly: one no longer referenced drops out of its
    identity map. Kept, it stays there for later steps (the answer, the realtime feed, the
    reactions' queueing), which then read it from memory instead of the database.
    """
    session.info.setdefault(_KEPT_KEY, []).append(obj)


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Runs ``callback`` once the unit of work has committed; never if it rolls back.

    For effects on things outside the database that must not happen for a change that
    is undone (deleting a file whose row is being deleted). A process that dies in between
    skips the callback, so it must be something a later sweep can redo.
    """
    session.info.setdefault(_ON_COMMIT_KEY, []).append(callback)


def utcnow(session: Session) -> datetime:
    """ "Now" for the unit of work the session belongs to, from its injectable clock."""
    clock: Clock = session.info.get("okno.clock") or SystemClock()
    return clock.now()


def number_from_sequence(session: Session, target: object, attribute: str, sequence: str) -> None:
    """Gives ``target.<attribute>`` the next value of a named counter, safe under concurrency.

    PostgreSQL: the column's default is ``nextval`` of the sequence, so the INSERT takes the
    number and RETURNING hands it back (no round trip of its own); the attribute stays unset
    until the flush. SQLite has no sequences: a counter row is bumped with UPDATE ... RETURNING
    inside the (BEGIN IMMEDIATE, hence serialised) write transaction, and the attribute is set
    now. Never ``MAX()+1``: two concurrent transactions would read the same maximum.
    """
    if session.get_bind().dialect.name == "postgresql":
        return
    value = session.execute(
        sa.text("UPDATE okno_sequences SET value = value + 1 WHERE name = :name RETURNING value"),
        {"name": sequence},
    ).scalar_one_or_none()
    if value is None:
        raise LookupError(f"sequence {sequence!r} is missing; run `okno init`")
    setattr(target, attribute, int(value))


def is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(orig)
