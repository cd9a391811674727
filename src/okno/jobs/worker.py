"""The outbox worker: claims due jobs, runs each in its own unit of work, retries with back-off.

Several workers (threads in ``okno serve``, or ``okno worker`` processes) share one
outbox safely: on PostgreSQL a claim is ``FOR UPDATE SKIP LOCKED``; on SQLite it is a
conditional UPDATE inside a BEGIN IMMEDIATE transaction, which writers take one at a time.
A claimed job carries a lease; if its worker dies, the lease runs out and another worker
takes it again (at-least-once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from okno.db import Database, utcnow
from okno.jobs import registry
from okno.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at an hour."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0


class Worker:
    def __init__(self, db: Database, *, context: registry.JobContext, name: str | None = None, batch: int = 10) -> None:
        self.db = db
        self.context = context
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch = batch
        self.wakeup = threading.Event()
        self._stop = threading.Event()

    # --- commit listener: wake up as soon as a transaction enqueued something -------------
    def before_commit(self, session: sa.orm.Session) -> None:
        return None

    def after_commit(self, info: dict[str, Any]) -> None:
        if info.get(registry.WAKE_KEY):
            self.wakeup.set()

    # --- claiming and running -------------------------------------------------------------
    def claim(self) -> list[int]:
        with self.db.write() as session:
            now = utcnow(session)
            due = sa.or_(
                sa.and_(Job.status == JobStatus.queued, Job.run_at <= now),
                sa.and_(Job.status == JobStatus.running, Job.locked_until < now),
            )
            pick = sa.select(Job.id).where(due).order_by(Job.run_at, Job.id).limit(self.batch)
            if not self.db.is_sqlite:
                pick = pick.with_for_update(skip_locked=True)
            ids = list(session.scalars(pick))
            if ids:
                session.execute(
                    sa.update(Job)
                    .where(Job.id.in_(ids))
                    .values(status=JobStatus.running, locked_by=self.name, locked_until=now + LEASE)
                )
            return ids

    def run_one(self, job_id: int) -> bool:
        """Runs a claimed job; True when it finished."""
        try:
            with self.db.write() as session:
                job = session.get(Job, job_id)
                if job is None or job.status != JobStatus.running or job.locked_by != self.name:
                    return False  # someone else took it over after our lease ran out
                spec = registry.spec(job.name)
                if spec is None:
                    raise LookupError(f"no handler registered for job {job.name!r}")
                spec.handler(session, dict(job.payload), self.context)
                job.status = JobStatus.done
                job.attempts += 1
                job.finished_at = utcnow(session)
                job.locked_until = None
                job.last_error = None
            return True
        except Exception:
            self._record_failure(job_id, traceback.format_exc(limit=20))
            return False

    def _record_failure(self, job_id: int, error: str) -> None:
        with self.db.write() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            job.attempts += 1
            job.last_error = error[-8000:]
            job.locked_until = None
            now = utcnow(session)
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.dead
                job.finished_at = now
                log.error("job %s (%s) is dead after %s attempts", job.id, job.name, job.attempts)
            else:
                job.status = JobStatus.queued
                job.run_at = now + backoff(job.attempts)
                log.warning("job %s (%s) failed, attempt %s; retrying", job.id, job.name, job.attempts)

    def schedule_periodic(self) -> None:
        """Enqueues each periodic job once per period; the slot key makes it once across workers."""
        jobs = registry.periodic_jobs()
        if not jobs:
            return
        with self.db.write() as session:
            now = utcnow(session)
            for item in jobs:
                slot = int(now.timestamp()) // item.every_seconds
                registry.enqueue(session, item.name, {}, key=f"periodic:{item.name}:{slot}")

    def run_pending(self) -> RunReport:
        """Runs everything due now, then returns; used by tests and ``okno jobs run``."""
        report = RunReport()
        while ids := self.claim():
            for job_id in ids:
                if self.run_one(job_id):
                    report.done += 1
                else:
                    report.failed += 1
        return report

    # --- the loop ---------------------------------------------------------------------------
    def run_forever(self, *, poll_seconds: float = 1.0) -> None:
        log.info("worker %s started", self.name)
        last_schedule = 0.0
        while not self._stop.is_set():
            try:
                clock_now = self.db.clock.now().timestamp()
                if clock_now - last_schedule >= 30:
                    self.schedule_periodic()
                    last_schedule = clock_now
                report = self.run_pending()
                if report.done or report.failed:
                    continue
            except Exception:
                log.exception("worker loop error; continuing")
            self.wakeup.wait(poll_seconds)
            self.wakeup.clear()
        log.info("worker %s stopped", self.name)

    def start_thread(self, *, poll_seconds: float = 1.0) -> threading.Thread:
        thread = threading.Thread(
            target=self.run_forever, kwargs={"poll_seconds": poll_seconds}, name="okno-worker", daemon=True
        )
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.set()


def job_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        rows = session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status))
        return {str(status): int(count) for status, count in rows}
