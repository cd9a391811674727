"""Background work shared by every channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.channels import delivery
from okno.jobs.registry import JobContext, job


@job(delivery.JOB)
def deliver_reply(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    delivery.deliver_reply(session, int(payload["message_id"]), context)
