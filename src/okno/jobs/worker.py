"""The outbox worker: takes due jobs one at a time, each with its effects in one unit of work, retries with back-off.

Several workers (threads in ``okno serve``, or ``okno worker`` processes) share one outbox
safely. A job is taken and run in the same transaction that marks it done: on PostgreSQL the
take is ``FOR UPDATE SKIP LOCKED``, so other workers pass over it while it runs; on SQLite the
transaction is BEGIN IMMEDIATE and writers take turns. A worker that dies mid-job rolls its
transaction back, so the job is simply still queued and the next worker takes it
(at-least-once). One transaction per job, not a claim and then a run, halves the commits the
outbox costs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.db import Database, utcnow
from okno.jobs import registry
from okno.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at an hour."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _taking(*, one_job: bool, skip_locked: bool) -> sa.Update:
    jobs = cast(sa.Table, Job.__table__)  # the table itself: the ORM's bulk-update handling is most of the cost
    now = sa.bindparam("now", type_=jobs.c.run_at.type)
    due = sa.select(jobs.c.id).where(jobs.c.status == JobStatus.queued.value, jobs.c.run_at <= now)
    if one_job:
        due = due.where(jobs.c.id == sa.bindparam("job_id"))
    due = due.order_by(jobs.c.run_at, jobs.c.id).limit(1)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    # Whether another job is due, asked in the same statement: a drain that took the last one
    # ends without a take that finds nothing (a transaction of its own, about one per job).
    # The taken row's id is spelt out: SQLite's RETURNING renders columns without their table,
    # which would make it the alias's own id.
    others = jobs.alias("others")
    more_due = sa.exists().where(
        others.c.status == JobStatus.queued.value,
        others.c.run_at <= now,
        others.c.id != sa.literal_column(f"{jobs.name}.id"),
    )
    return (
        sa.update(jobs)
        .where(jobs.c.id == due.scalar_subquery())
        .values(status=JobStatus.done.value, attempts=jobs.c.attempts + 1, finished_at=now, last_error=None)
        .returning(jobs.c.id, jobs.c.name, jobs.c.payload, more_due.label("more_due"))
    )


# Taking a job is the one statement every job pays: built once, not per job (building it took
# more CPU than running a small job).
_TAKING = {(one, skip): _taking(one_job=one, skip_locked=skip) for one in (False, True) for skip in (False, True)}


@dataclass(frozen=True)
class _Ran:
    finished: bool  # False: it failed and waits for its next attempt (or is dead)
    more_due: bool  # another job was due when it was taken, or it enqueued some


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0


class Worker:
    def __init__(self, db: Database, *, context: registry.JobContext, name: str | None = None) -> None:
        self.db = db
        self.context = context
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.wakeup = threading.Event()
        self._stop = threading.Event()

    # --- commit listener: wake up as soon as a transaction enqueued something -------------
    def before_commit(self, session: sa.orm.Session) -> None:
        return None

    def after_commit(self, info: dict[str, Any]) -> None:
        if info.get(registry.WAKE_KEY):
            self.wakeup.set()

    # --- taking and running -----------------------------------------------------------------
    def run_next(self, job_id: int | None = None) -> bool | None:
        """Runs the next due job (or the job ``job_id`` if it is due); None when there is none.

        True when it finished; False when it failed and waits for its next attempt (or is dead).
        """
        ran = self._run_one(job_id)
        return None if ran is None else ran.finished

    def _run_one(self, job_id: int | None) -> _Ran | None:
        taken: sa.Row[tuple[int, str, dict[str, Any], bool]] | None = None
        try:
            with self.db.write() as session:
                taken = self._take(session, job_id)
                if taken is None:
                    return None
                spec = registry.spec(taken.name)
                if spec is None:
                    raise LookupError(f"no handler registered for job {taken.name!r}")
                spec.handler(session, dict(taken.payload), self.context)
            # Asked once the unit of work has committed: some jobs are enqueued as it commits (the
            # reactions to the events the job recorded), and the session keeps its info when closed.
            enqueued = bool(session.info.get(registry.WAKE_KEY))
            return _Ran(finished=True, more_due=taken.more_due or enqueued)
        except Exception:
            if taken is None:
                raise
            self._record_failure(taken.id, traceback.format_exc(limit=20))
            return _Ran(finished=False, more_due=taken.more_due)

    def _take(self, session: Session, job_id: int | None) -> sa.Row[tuple[int, str, dict[str, Any], bool]] | None:
        """The next due job (id, name, payload, whether another is due), locked and already marked
        done: if it fails, the rollback makes it queued again.

        One statement, built once: the job is finished (``finished_at``) as of when it was taken.
        """
        taking = _TAKING[(job_id is not None, not self.db.is_sqlite)]
        return session.execute(taking, {"now": utcnow(session), "job_id": job_id}).first()

    def _record_failure(self, job_id: int, error: str) -> None:
        with self.db.write() as session:
            # Locked and read afresh: another worker may have taken the job since the rollback.
            job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
            if job is None or job.status != JobStatus.queued:
                return  # it ran meanwhile
            job.attempts += 1
            job.last_error = error[-8000:]
            now = utcnow(session)
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.dead
                job.finished_at = now
                log.error("job %s (%s) is dead after %s attempts", job.id, job.name, job.attempts)
            else:
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
        while (ran := self._run_one(None)) is not None:
            if ran.finished:
                report.done += 1
            else:
                report.failed += 1
            if not ran.more_due:
                break
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
                # Cleared before draining, so that a job enqueued from now on ends the wait below
                # at once: the drain may stop at a job that saw no other due, without a last look.
                self.wakeup.clear()
                self.run_pending()
            except Exception:
                log.exception("worker loop error; continuing")
            if not self._stop.is_set():
                self.wakeup.wait(poll_seconds)
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
