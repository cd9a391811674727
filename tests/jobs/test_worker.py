from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database, before_commit
from okno.jobs import registry
from okno.jobs.models import Job, JobStatus
from okno.jobs.registry import JobContext, enqueue, job
from okno.jobs.worker import Worker, backoff
from okno.storage import FileStorage
from okno.tickets.models import Tag

calls: list[dict[str, Any]] = []


@job("tests.record_tag")
def record_tag(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    calls.append(payload)
    if payload.get("fail"):
        raise RuntimeError("the outside service said no")
    session.add(Tag(name=payload["name"], created_at=sa.func.now()))  # type: ignore[arg-type]


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Worker:
    calls.clear()
    settings = Settings(data_dir=tmp_path)
    return Worker(db, context=JobContext(settings=settings, storage=FileStorage(tmp_path / "files")), name="w1")


def jobs(db: Database) -> list[Job]:
    with db.read() as session:
        return list(session.scalars(sa.select(Job).where(Job.name == "tests.record_tag").order_by(Job.id)))


def test_job_runs_once_and_its_changes_commit_with_it(db: Database, worker: Worker) -> None:
    with db.write() as session:
        enqueue(session, "tests.record_tag", {"name": "from-job"}, key="tag:from-job")
        enqueue(session, "tests.record_tag", {"name": "from-job"}, key="tag:from-job")  # same key: one job
    assert len(jobs(db)) == 1
    report = worker.run_pending()
    assert report.done == 1 and calls == [{"name": "from-job"}]
    assert jobs(db)[0].status == JobStatus.done
    with db.read() as session:
        assert session.scalar(sa.select(Tag.id).where(Tag.name == "from-job")) is not None
    assert worker.run_pending().done == 0


@job("tests.tag_then_follow_up")
def tag_then_follow_up(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    session.add(Tag(name=payload["name"], created_at=sa.func.now()))  # type: ignore[arg-type]
    # Enqueued as the unit of work commits, as reactions to a job's changes are.
    follow_up = {"name": payload["name"] + "-follow-up"}
    before_commit(session, "tests.follow_up", lambda at_commit: enqueue(at_commit, "tests.record_tag", follow_up))


def test_a_drain_runs_follow_ups_and_ends_at_the_last_job_without_an_empty_take(
    db: Database, worker: Worker, clock: FrozenClock
) -> None:
    with db.write() as session:
        enqueue(session, "tests.tag_then_follow_up", {"name": "first"})
        enqueue(session, "tests.record_tag", {"name": "second"})
        enqueue(session, "tests.record_tag", {"name": "not-yet"}, run_at=clock.now() + timedelta(minutes=1))
    takes: list[str] = []

    def count_takes(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("UPDATE JOBS"):
            takes.append(args[2])

    sa.event.listen(db.bind.engine, "before_cursor_execute", count_takes)
    try:
        report = worker.run_pending()
    finally:
        sa.event.remove(db.bind.engine, "before_cursor_execute", count_takes)
    assert report.done == 3 and [c["name"] for c in calls] == ["second", "first-follow-up"]
    assert len(takes) == 3  # one per job run: the one not yet due made no take of its own


def test_a_rolled_back_transaction_enqueues_nothing(db: Database) -> None:
    with pytest.raises(ValueError), db.write() as session:
        enqueue(session, "tests.record_tag", {"name": "never"})
        raise ValueError("the request failed")
    assert jobs(db) == []


def test_failures_retry_with_backoff_then_die_and_can_be_retried(
    db: Database, worker: Worker, clock: FrozenClock
) -> None:
    with db.write() as session:
        enqueue(session, "tests.record_tag", {"name": "x", "fail": True})
    assert worker.run_pending().failed == 1
    failed = jobs(db)[0]
    assert failed.status == JobStatus.queued and failed.attempts == 1
    assert failed.run_at == clock.now() + backoff(1) and "said no" in (failed.last_error or "")
    assert worker.run_pending().failed == 0  # not due yet
    for _attempt in range(2, 9):
        clock.advance(timedelta(hours=2))
        worker.run_pending()
    dead = jobs(db)[0]
    assert dead.status == JobStatus.dead and dead.attempts == 8
    with db.write() as session:
        assert registry.retry_dead(session) == 1
    assert jobs(db)[0].status == JobStatus.queued and jobs(db)[0].attempts == 0


class WorkerDied(BaseException):
    """Stands for the process ending mid-job: no handler or worker code catches it."""


@job("tests.die_once")
def die_once(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    calls.append(payload)
    session.add(Tag(name=payload["name"], created_at=sa.func.now()))  # type: ignore[arg-type]
    if len(calls) == 1:
        raise WorkerDied


def test_a_job_whose_worker_died_mid_way_is_still_queued_and_runs_again(db: Database, worker: Worker) -> None:
    with db.write() as session:
        enqueue(session, "tests.die_once", {"name": "orphaned"})
    with pytest.raises(WorkerDied):
        worker.run_pending()
    with db.read() as session:
        [orphan] = session.scalars(sa.select(Job).where(Job.name == "tests.die_once"))
        assert (orphan.status, orphan.attempts) == (JobStatus.queued, 0)
        assert session.scalar(sa.select(Tag.id).where(Tag.name == "orphaned")) is None  # its changes went with it
    assert worker.run_pending().done == 1
    assert calls == [{"name": "orphaned"}, {"name": "orphaned"}]


def test_a_job_not_yet_due_is_not_run_by_id(db: Database, worker: Worker, clock: FrozenClock) -> None:
    with db.write() as session:
        enqueue(session, "tests.record_tag", {"name": "later"}, run_at=clock.now() + timedelta(minutes=5))
    later = jobs(db)[0].id
    assert worker.run_next(later) is None
    clock.advance(timedelta(minutes=5))
    assert worker.run_next(later) is True


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(30) == timedelta(hours=1)


def test_periodic_jobs_are_enqueued_once_per_period(db: Database, worker: Worker) -> None:
    worker.schedule_periodic()
    worker.schedule_periodic()
    with db.read() as session:
        names = list(session.scalars(sa.select(Job.name).where(Job.idempotency_key.like("periodic:%"))))
    assert sorted(names) == sorted(set(names)) and "tickets.sweep_attachments" in names
    assert worker.run_pending().failed == 0
