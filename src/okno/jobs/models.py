from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import Base, BigId, JSONData, UTCDateTime


class JobStatus(StrEnum):
    queued = "queued"
    done = "done"
    dead = "dead"


class Job(Base):
    """One side effect waiting to happen: the outbox row written with the change that caused it."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # Enqueueing the same key twice keeps one job: callers make side effects idempotent by it.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    status: Mapped[JobStatus] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
