"""Background work of the email channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.channels.email import processing
from okno.channels.email.intake import PROCESS_JOB
from okno.jobs.registry import JobContext, job


@job(PROCESS_JOB)
def process_inbound(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    processing.process(session, int(payload["inbound_id"]), context)
