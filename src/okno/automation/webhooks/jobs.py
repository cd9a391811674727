"""The webhooks' background work: the reaction to ticket changes, attempts, pruning the log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.automation.webhooks import deliveries, payloads
from okno.automation.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from okno.db import utcnow
from okno.jobs.registry import JobContext, job, periodic
from okno.tickets import snapshots
from okno.tickets.reactions import Change, reaction

PRUNE_JOB = "webhooks.prune"
KEEP_DELIVERIES = timedelta(days=30)


def any_takes(session: Session, event_kinds: frozenset[str]) -> bool:
    """Whether an enabled subscription takes one of these kinds; if none does, no job is queued."""
    query = sa.select(WebhookSubscription.event_kinds).where(WebhookSubscription.enabled.is_(True))
    return any(not listed or not event_kinds.isdisjoint(listed) for listed in session.scalars(query))


@reaction("webhooks.queue", order=400, wanted=any_takes, wanted_reads=(WebhookSubscription,), in_spam=True)
def queue_deliveries(session: Session, change: Change, context: JobContext) -> None:
    """One delivery per enabled subscription and event of the change that it takes.

    Last of the reactions, so the ticket in the payload already shows what rules, routing and
    the SLA clock did in this round (their own events come in the next round).
    """
    subscriptions = list(session.scalars(sa.select(WebhookSubscription).where(WebhookSubscription.enabled.is_(True))))
    if not subscriptions:
        return
    events = snapshots.events(session, change.event_ids)
    wanted = [(s, e) for e in events for s in subscriptions if payloads.takes(s, e.kind)]
    if not wanted:
        return
    ticket = snapshots.ticket(session, change.ticket_id)
    for subscription, event in wanted:
        deliveries.create(
            session,
            subscription,
            event_type=event.kind,
            body=payloads.for_event(ticket, event),
            ticket_id=event.ticket_id,
            ticket_event_id=event.id,
        )


@job(deliveries.DELIVER_JOB)
def deliver(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    deliveries.attempt(session, int(payload["delivery_id"]), context)


@job(PRUNE_JOB)
def prune(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    """Finished deliveries older than 30 days leave the log."""
    session.execute(
        sa.delete(WebhookDelivery).where(
            WebhookDelivery.created_at < utcnow(session) - KEEP_DELIVERIES,
            WebhookDelivery.status != DeliveryStatus.pending,
        )
    )


periodic(PRUNE_JOB, every_seconds=6 * 3600)
