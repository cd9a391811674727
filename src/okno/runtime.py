"""The objects one Okno process runs on, built once from the settings by the app or the CLI."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass, field

from okno.config import Settings
from okno.crypto import SECRET_KEY_INFO
from okno.db import Database, make_engine
from okno.jobs import catalog as _job_catalog  # noqa: F401  (registers every job handler)
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.realtime import Bus, PostgresTransport, RedisTransport, Transport
from okno.storage import FileStorage
from okno.tickets.feed import TicketFeed
from okno.tickets.inbox import CountCache


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    storage: FileStorage
    worker: Worker
    inbox_counts: CountCache = field(default_factory=CountCache)
    # Serialises write requests of this process on SQLite (see okno.http.deps).
    write_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    # Requests in flight at most as many as there are connections, less two for the worker and streams.
    connection_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Runtime:
        if db is None:
            engine = make_engine(
                settings.effective_database_url,
                pool_size=settings.db_pool_size,
                busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            )
            db = Database(engine)
        db.session_info[SECRET_KEY_INFO] = settings.resolved_secret_key  # read when first needed
        bus = Bus(TicketFeed(), _transport(settings))
        storage = FileStorage(settings.data_dir / "attachments")
        worker = Worker(db, context=JobContext(settings=settings, storage=storage))
        db.listeners.extend([bus, worker])
        connections = 2 * settings.db_pool_size  # pool size plus as many overflow connections
        return cls(
            settings=settings,
            db=db,
            bus=bus,
            storage=storage,
            worker=worker,
            connection_gate=asyncio.Semaphore(max(connections - 2, 1)),
        )

    def close(self) -> None:
        self.worker.stop()
        self.bus.stop()
        self.db.dispose()


def _transport(settings: Settings) -> Transport | None:
    backend = settings.realtime_backend
    if backend == "postgres":
        url = settings.effective_database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresTransport(url)
    if backend == "redis":
        if not settings.redis_url:
            raise ValueError("OKNO_REALTIME=redis needs OKNO_REDIS_URL")
        return RedisTransport(settings.redis_url)
    return None


def freeze_startup_objects() -> None:
    """Leaves what a process built before serving (modules, mappers, the app) out of garbage collection.

    It lives as long as the process, yet every full collection walked all of it: about 140 ms per
    collection in a served process, every few hundred requests, a pause for every request in flight.
    After this, a full collection walks only what the requests made (about 15 ms).
    """
    gc.freeze()
