"""Named jobs and how to enqueue them into the outbox.

A job handler gets the unit of work's session and the job's payload; it runs at least
once, so it must be idempotent (its own database changes commit together with the job
being marked done, so those happen exactly once; outside effects may repeat).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okno.config import Settings
from okno.db import utcnow
from okno.jobs.models import Job, JobStatus
from okno.storage import Storage

WAKE_KEY = "okno.jobs_enqueued"


@dataclass(frozen=True)
class JobContext:
    """What a handler may need besides the session."""

    settings: Settings
    storage: Storage


Handler = Callable[[Session, dict[str, Any], JobContext], None]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: Handler
    max_attempts: int


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int


_registry: dict[str, JobSpec] = {}
_periodic: dict[str, Periodic] = {}


def job(name: str, *, max_attempts: int = 8) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in _registry and _registry[name].handler is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        _registry[name] = JobSpec(name=name, handler=handler, max_attempts=max_attempts)
        return handler

    return register


def periodic(name: str, *, every_seconds: int) -> None:
    """Runs the job ``name`` once per period, across all workers (one slot key per period)."""
    _periodic[name] = Periodic(name=name, every_seconds=every_seconds)


def spec(name: str) -> JobSpec | None:
    return _registry.get(name)


def periodic_jobs() -> list[Periodic]:
    return list(_periodic.values())


def enqueue(
    session: Session,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
) -> None:
    """Writes the job in the caller's transaction. With a key, a second enqueue is a no-op."""
    _write(session, name, [(payload or {}, key)], run_at=run_at)


def enqueue_many(session: Session, name: str, jobs: list[tuple[dict[str, Any], str]]) -> None:
    """Writes several jobs of one name, each with its key, in one statement (a key already there is skipped)."""
    _write(session, name, jobs)


# Built once per dialect and sent with a list of rows: a statement built anew for every
# enqueue was compiled anew too (a multi-row VALUES has a cache key of its own per row count).
_JOBS = cast(sa.Table, Job.__table__)
_INSERTS = {
    "postgresql": postgresql.insert(_JOBS).on_conflict_do_nothing(index_elements=["idempotency_key"]),
    "sqlite": sqlite.insert(_JOBS).on_conflict_do_nothing(index_elements=["idempotency_key"]),
}


def _write(
    session: Session, name: str, jobs: Sequence[tuple[dict[str, Any], str | None]], *, run_at: datetime | None = None
) -> None:
    if not jobs:
        return
    if name not in _registry:
        raise LookupError(f"no job named {name!r}")
    now = utcnow(session)
    max_attempts = _registry[name].max_attempts
    rows = [
        {
            "name": name,
            "payload": payload,
            "idempotency_key": key,
            "status": JobStatus.queued,
            "attempts": 0,
            "max_attempts": max_attempts,
            "run_at": run_at or now,
            "created_at": now,
        }
        for payload, key in jobs
    ]
    # A key-less job never conflicts (NULLs are distinct), so one statement serves both.
    session.execute(_INSERTS[session.get_bind().dialect.name], rows)
    session.info[WAKE_KEY] = True


def retry_dead(session: Session, job_id: int | None = None) -> int:
    """Puts dead jobs (all, or one) back in the queue with a fresh set of attempts."""
    query = sa.update(Job).where(Job.status == JobStatus.dead)
    if job_id is not None:
        query = query.where(Job.id == job_id)
    result = session.execute(query.values(status=JobStatus.queued, attempts=0, run_at=utcnow(session)))
    session.info[WAKE_KEY] = True
    return int(getattr(result, "rowcount", 0) or 0)
