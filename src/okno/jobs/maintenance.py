"""Housekeeping jobs that keep the outbox and short-lived tables small."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.db import utcnow
from okno.jobs.models import Job, JobStatus
from okno.jobs.registry import JobContext, job, periodic

KEEP_DONE_JOBS = timedelta(days=7)


@job("jobs.prune_done")
def prune_done(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """Finished jobs are kept a week for inspection; dead ones stay until retried or handled."""
    cutoff = utcnow(session) - KEEP_DONE_JOBS
    session.execute(sa.delete(Job).where(Job.status == JobStatus.done, Job.finished_at < cutoff))


periodic("jobs.prune_done", every_seconds=3600)
