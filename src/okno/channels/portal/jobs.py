"""Background work of the web form and the customer portal."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.channels.portal import mail, service
from okno.jobs.registry import JobContext, job, periodic


@job(service.SEND_LINK_JOB, max_attempts=5)
def send_magic_link(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    mail.send_link(
        session, int(payload["link_id"]), str(payload["sealed_token"]), str(payload.get("locale") or "en"), context
    )


@job("portal.sweep_magic_links")
def sweep_magic_links(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    service.sweep_links(session)


periodic("portal.sweep_magic_links", every_seconds=3600)
