"""Background work of the HTTP layer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.db import utcnow
from okno.http.models import IdempotencyRecord
from okno.jobs.registry import JobContext, job, periodic

# Clients retry within minutes; a day is generous and keeps the table small.
KEEP_IDEMPOTENCY = timedelta(hours=24)


@job("http.prune_idempotency")
def prune_idempotency(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    cutoff = utcnow(session) - KEEP_IDEMPOTENCY
    session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))


periodic("http.prune_idempotency", every_seconds=3600)
