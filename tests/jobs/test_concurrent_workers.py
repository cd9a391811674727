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
        workers = [Worker(db, context=context, name=f"w{i}", batch=5) for i in range(2)]
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
        assert sum(done) == JOBS and all(done), done  # both took part
        assert {(status, attempts) for status, attempts in statuses} == {(JobStatus.done, 1)}
        assert tags == JOBS
    finally:
        engine.dispose()
