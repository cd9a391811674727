"""Background work of the tickets domain."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from okno.jobs.registry import JobContext, job, periodic
from okno.tickets import attachments

log = logging.getLogger(__name__)


@job("tickets.sweep_attachments")
def sweep_attachments(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    removed = attachments.sweep_orphans(
        session, context.storage, older_than_hours=context.settings.orphan_attachment_hours
    )
    if removed:
        log.info("swept %s orphaned attachments", removed)


periodic("tickets.sweep_attachments", every_seconds=3600)
