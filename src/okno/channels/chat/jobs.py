"""Background work of the chat: codes and transcripts by email, unread replies, idle conversations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.channels.chat import delivery, idle, mail, visitors
from okno.db import utcnow
from okno.jobs.registry import JobContext, job, periodic


@job(visitors.SEND_CODE_JOB, max_attempts=5)
def send_email_code(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    mail.send_code(
        session, int(payload["code_id"]), str(payload["sealed_code"]), str(payload.get("locale") or "en"), context
    )


@job(mail.TRANSCRIPT_JOB, max_attempts=5)
def send_transcript(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    mail.send_transcript(
        session, int(payload["ticket_id"]), str(payload["email"]), str(payload.get("locale") or "en"), context
    )


@job(delivery.UNREAD_JOB)
def email_unread_reply(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    delivery.email_if_unread(session, int(payload["message_id"]), context)


@job("chat.close_idle")
def close_idle(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    idle.close_idle(session, now=utcnow(session))


@job("chat.sweep_codes")
def sweep_codes(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    visitors.sweep_codes(session)


periodic("chat.close_idle", every_seconds=60)
periodic("chat.sweep_codes", every_seconds=3600)
