"""Background work of the accounts domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import presence, rate_limits, web_sessions
from okno.jobs.registry import JobContext, job, periodic


@job("accounts.prune_login_failures")
def prune_login_failures(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    # Every counted attempt (sign-ins, the public form, magic links), kept past the longest window.
    keep = max(2 * context.settings.login_window_seconds, rate_limits.LONGEST_WINDOW_S)
    rate_limits.sweep(session, older_than_s=keep)


periodic("accounts.prune_login_failures", every_seconds=3600)


@job("accounts.sweep_web_sessions")
def sweep_web_sessions(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    web_sessions.sweep_expired(session)


periodic("accounts.sweep_web_sessions", every_seconds=3600)


@job("accounts.expire_presence")
def expire_presence(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    presence.expire_silent(session, timeout_seconds=context.settings.presence_timeout_seconds)


periodic("accounts.expire_presence", every_seconds=60)
