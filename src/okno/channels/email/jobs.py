"""Background work of the email channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.channels.email import acknowledgement, imap, processing
from okno.channels.email.intake import PROCESS_JOB
from okno.crypto import Sealer
from okno.db import utcnow
from okno.jobs.registry import JobContext, enqueue, job, periodic


@job(PROCESS_JOB)
def process_inbound(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    processing.process(session, int(payload["inbound_id"]), context)


@job(imap.POLL_JOB, max_attempts=1)
def poll_imap(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """Queues a fetch for each IMAP mailbox whose polling period has passed."""
    every = context.settings.imap_poll_seconds
    slot = int(utcnow(session).timestamp()) // every
    for mailbox_id in imap.due_mailboxes(session, every):
        enqueue(session, imap.FETCH_JOB, {"mailbox_id": mailbox_id}, key=f"imap-fetch:{mailbox_id}:{slot}")


# The worker schedules periodic jobs every 30 s; the poll itself honours OKNO_IMAP_POLL_SECONDS.
periodic(imap.POLL_JOB, every_seconds=30)


@job(imap.FETCH_JOB, max_attempts=3)
def fetch_imap(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    mailbox_id = int(payload["mailbox_id"])
    batch = int(payload.get("batch", 1))
    fetched = imap.fetch_batch(session, mailbox_id, Sealer(context.settings.resolved_secret_key()))
    if fetched.more and fetched.uids and batch < imap.MAX_BATCHES_PER_POLL:
        # The rest in a unit of work of its own, once this batch is committed and marked seen.
        enqueue(session, imap.FETCH_JOB, {"mailbox_id": mailbox_id, "batch": batch + 1})


@job(acknowledgement.SEND_JOB)
def send_acknowledgement(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    acknowledgement.deliver(session, int(payload["auto_reply_id"]), context)
