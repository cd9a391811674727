"""Several workers on one outbox, on committed data: every job runs once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.config import Settings
from okno.db import Database, make_engine, utcnow
from okno.jobs.models import Job, JobStatus
from okno.jobs.registry import JobContext, enqueue, job
from okno.jobs.worker import Worker
from okno.storage import FileStorage
from okno.tickets.models import Tag
from tests import databases

JOBS = 200


@job("tests.make_tag_once")
def make_tag_once(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    # A unique name: a job that ran twice would fail its second run on the constraint.
    session.add(Tag(name=f"job-{payload['n']}", created_at=utcnow(session)))


def test_two_workers_share_the_outbox(served_template: databases.Template, tmp_path: Path) -> None:
    engine = make_engine(served_template.fresh_url(tmp_path))
    try:
        db = Database(engine)
        with db.write() as session:
            for n in range(JOBS):
                enqueue(session, "tests.make_tag_once", {"n": n})
        context = JobContext(settings=Settings(data_dir=tmp_path), storage=FileStorage(tmp_path / "files"))
        workers = [Worker(db, context=context, name=f"w{i}") for i in range(2)]
        done = [0, 0]

        def drain(index: int) -> None:
            done[index] = workers[index].run_pending().done

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        with db.read() as session:
            statuses = session.execute(
                sa.select(Job.status, Job.attempts).where(Job.name == "tests.make_tag_once")
            ).all()
            tags = session.scalar(sa.select(sa.func.count()).select_from(Tag).where(Tag.name.like("job-%")))
        assert sum(done) == JOBS, done
        if served_template.kind == "postgres":
            # SQLite lets one writer in at a time and does not queue the others fairly: there, one
            # worker may well run them all, and only exactly-once is promised.
            assert all(done), done  # both took part
        assert {(status, attempts) for status, attempts in statuses} == {(JobStatus.done, 1)}
        assert tags == JOBS
    finally:
        engine.dispose()


started, release = threading.Event(), threading.Event()


@job("tests.slow_tag")
def slow_tag(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    started.set()
    assert release.wait(30)
    session.add(Tag(name="slow", created_at=utcnow(session)))


def test_a_running_job_is_passed_over_by_other_workers(served_template: databases.Template, tmp_path: Path) -> None:
    started.clear()
    release.clear()
    engine = make_engine(served_template.fresh_url(tmp_path))
    try:
        db = Database(engine)
        with db.write() as session:
            enqueue(session, "tests.slow_tag", {})
        context = JobContext(settings=Settings(data_dir=tmp_path), storage=FileStorage(tmp_path / "files"))
        first, second = (Worker(db, context=context, name=name) for name in ("first", "second"))
        running = threading.Thread(target=first.run_pending)
        running.start()
        assert started.wait(30)
        if db.is_sqlite:
            # One writer at a time: the second worker waits for the first instead of passing over.
            release.set()
            running.join(30)
            assert second.run_pending().done == 0
        else:
            with db.write() as session:
                enqueue(session, "tests.make_tag_once", {"n": "beside"})
            assert second.run_pending().done == 1  # took the next job, not the running one
            release.set()
            running.join(30)
        with db.read() as session:
            statuses = dict(session.execute(sa.select(Job.name, Job.status)).all())
        assert statuses["tests.slow_tag"] == JobStatus.done
    finally:
        release.set()
        engine.dispose()
