"""Background work of the accounts domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import presence, web_sessions
from okno.accounts.models import LoginFailure
from okno.db import utcnow
from okno.jobs.registry import JobContext, job, periodic


@job("accounts.prune_login_failures")
def prune_login_failures(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    window = timedelta(seconds=context.settings.login_window_seconds)
    session.execute(sa.delete(LoginFailure).where(LoginFailure.occurred_at < utcnow(session) - 2 * window))


periodic("accounts.prune_login_failures", every_seconds=3600)


@job("accounts.sweep_web_sessions")
def sweep_web_sessions(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    web_sessions.sweep_expired(session)


periodic("accounts.sweep_web_sessions", every_seconds=3600)


@job("accounts.expire_presence")
def expire_presence(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    presence.expire_silent(session, timeout_seconds=context.settings.presence_timeout_seconds)


periodic("accounts.expire_presence", every_seconds=60)
