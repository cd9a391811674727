"""Background work of rules: the reaction to ticket changes and the time-based sweep."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.automation.rules import engine, timed
from okno.jobs.registry import JobContext, job, periodic

REACTION = engine.REACTION  # registered by importing the engine: trigger rules run on every change


@job(timed.JOB)
def run_timed(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    timed.run(session, context.settings)


@job(timed.BATCH_JOB)
def run_timed_batch(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    timed.run(session, context.settings, rule_id=int(payload["rule_id"]), after=timed.batch_cursor(payload))


periodic(timed.JOB, every_seconds=timed.EVERY_SECONDS)
