"""Background work of rules: the reaction to ticket changes, the time-based sweep, webhook calls."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from okno.automation.rules import engine, timed, webhook
from okno.jobs.registry import JobContext, job, periodic

log = logging.getLogger(__name__)

REACTION = engine.REACTION  # registered by importing the engine: trigger rules run on every change


@job(timed.JOB)
def run_timed(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    timed.run(session, context.settings)


@job(timed.BATCH_JOB)
def run_timed_batch(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    timed.run(session, context.settings, rule_id=int(payload["rule_id"]), after_id=int(payload["after_id"]))


periodic(timed.JOB, every_seconds=timed.EVERY_SECONDS)


@job(webhook.JOB)
def call_webhook(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    try:
        status = webhook.deliver(payload, context.settings.resolved_secret_key())
    except webhook.WebhookRefused as refused:
        # Retrying cannot help; the call is dropped with the reason in the log.
        log.warning("webhook of rule %s to %s refused: %s", payload["rule_id"], payload["url"], refused)
        return
    log.info("webhook of rule %s to %s answered %s", payload["rule_id"], payload["url"], status)
