"""The SLA clock's background work: its reaction to every ticket change, and the sweep every 30 seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.automation.sla import evaluation, service
from okno.automation.sla.models import SlaPolicy, SlaTarget
from okno.db import utcnow
from okno.jobs.registry import JobContext, job, periodic
from okno.tickets import history
from okno.tickets.reactions import Change, reaction

SWEEP_JOB = "sla.sweep"


def warning_lead(context: JobContext) -> timedelta:
    return timedelta(minutes=context.settings.sla_warning_minutes)


def may_apply(session: Session, event_kinds: frozenset[str]) -> bool:
    """Whether the clock could have anything to do: a policy, or targets one left (a change may remove them)."""
    if event_kinds <= evaluation.OWN_EVENTS:
        return False
    anything = sa.or_(sa.exists().select_from(SlaPolicy), sa.exists().select_from(SlaTarget))
    return bool(session.scalar(sa.select(anything)))


@reaction("sla.evaluate", order=300, wanted=may_apply, wanted_reads=(SlaPolicy,), in_spam=True)
def react(session: Session, change: Change, context: JobContext) -> None:
    """After rules (which may set the priority) and routing (the team): the ticket's targets, worked out again."""
    kinds = frozenset(history.event_kinds(session, change.event_ids))
    if kinds and kinds <= evaluation.OWN_EVENTS:
        return  # its own warnings and breaches change nothing the clock reads
    evaluation.evaluate(
        session,
        change.ticket_id,
        now=utcnow(session),
        rules=service.rules(session),
        warning_lead=warning_lead(context),
        changed=kinds,
    )


@job(SWEEP_JOB)
def sweep(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """Targets that come due while their ticket stands still: the warning before, the breach at the due time."""
    evaluation.sweep(session, now=utcnow(session), rules=service.rules(session), warning_lead=warning_lead(context))


periodic(SWEEP_JOB, every_seconds=30)
