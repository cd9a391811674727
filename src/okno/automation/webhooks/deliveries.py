"""Webhook deliveries: the payloads, their signed requests, attempts and retries.

A delivery is a row written in the transaction that decided it (the reaction to a ticket
change, a rule, an admin's redelivery) together with its first ``webhooks.deliver`` job. The job
makes one attempt and writes its outcome on the row, so the delivery log shows every
subscription's last status, error and attempt count. A failure that may pass (no answer, a
timeout, HTTP 5xx, 408 or 429) schedules the next attempt as a new job after a growing delay;
after ``MAX_ATTEMPTS``, or at once for an answer that retrying will not change (another 4xx, a
redirect), the delivery has failed. A refused target (a private address) is never contacted.

Delivery is at least once: a worker that dies after the receiver answered but before the
outcome committed sends again. Receivers deduplicate by the payload's ``id`` (also sent as
``X-Okno-Event-Id``), the same for every attempt and redelivery of one payload.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from okno import __version__
from okno.automation.webhooks import signing, transport
from okno.automation.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from okno.crypto import Sealer, sealer_for
from okno.db import utcnow
from okno.errors import Invalid
from okno.jobs.registry import JobContext, enqueue

log = logging.getLogger(__name__)

DELIVER_JOB = "webhooks.deliver"
SECRET_PURPOSE = b"okno webhook secrets"
# Waits before the 2nd, 3rd … attempt: about nine hours from the first to the last.
RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_RESPONSE_BYTES = 64 * 1024


def sealer(session: Session, given: Sealer | None = None) -> Sealer:
    return given if given is not None else sealer_for(session, purpose=SECRET_PURPOSE)


def create(
    session: Session,
    subscription: WebhookSubscription,
    *,
    event_type: str,
    body: dict[str, Any],
    ticket_id: int | None = None,
    ticket_event_id: int | None = None,
    event_uid: str | None = None,
    redelivery_of_id: int | None = None,
) -> WebhookDelivery:
    """A pending delivery of ``body`` (its ``id`` added) and the job making its first attempt."""
    uid = event_uid or uuid.uuid4().hex
    now = utcnow(session)
    delivery = WebhookDelivery(
        subscription_id=subscription.id,
        event_uid=uid,
        event_type=event_type,
        ticket_id=ticket_id,
        ticket_event_id=ticket_event_id,
        payload={"id": uid, **{k: v for k, v in body.items() if k != "id"}},
        status=DeliveryStatus.pending,
        attempts=0,
        redelivery_of_id=redelivery_of_id,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    enqueue(session, DELIVER_JOB, {"delivery_id": delivery.id}, key=f"{DELIVER_JOB}:{delivery.id}:0")
    return delivery


def request_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def request_headers(delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"Okno-Webhooks/{__version__}",
        "X-Okno-Event": delivery.event_type,
        "X-Okno-Event-Id": delivery.event_uid,
        "X-Okno-Delivery": str(delivery.id),
        "X-Okno-Timestamp": str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature_header(secret, timestamp, body),
    }


def _give_up(delivery: WebhookDelivery, status: DeliveryStatus, error: str) -> None:
    delivery.status = status
    delivery.error = error
    delivery.next_attempt_at = None


def attempt(
    session: Session,
    delivery_id: int,
    context: JobContext,
    *,
    resolve: transport.Resolver = transport.system_resolver,
    given_sealer: Sealer | None = None,
) -> None:
    """One attempt at a pending delivery, its outcome recorded; the next one queued if it may help."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.pending:
        return  # delivered or given up by an earlier run of this job
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.enabled:
        _give_up(delivery, DeliveryStatus.failed, "The subscription is disabled.")
        return
    try:
        secret = sealer(session, given_sealer).unseal(subscription.secret_sealed)
    except Invalid as exc:
        _give_up(delivery, DeliveryStatus.failed, exc.message)
        return
    now = utcnow(session)
    body = request_body(delivery.payload)
    outcome = transport.post(
        subscription.url,
        body,
        request_headers(delivery, secret, body, int(now.timestamp())),
        allow_private=subscription.allow_private_network,
        timeout_seconds=context.settings.webhook_timeout_seconds,
        max_response_bytes=MAX_RESPONSE_BYTES,
        resolve=resolve,
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = outcome.status_code
    delivery.response_excerpt = outcome.body_excerpt or None
    delivery.error = outcome.error
    delivery.address = outcome.address
    delivery.duration_ms = outcome.duration_ms
    if outcome.delivered:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif outcome.refused:
        _give_up(delivery, DeliveryStatus.refused, outcome.error or "refused")
    elif outcome.retry and delivery.attempts < MAX_ATTEMPTS:
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
        enqueue(
            session,
            DELIVER_JOB,
            {"delivery_id": delivery.id},
            key=f"{DELIVER_JOB}:{delivery.id}:{delivery.attempts}",
            run_at=delivery.next_attempt_at,
        )
    else:
        _give_up(delivery, DeliveryStatus.failed, outcome.error or "failed")
    if not outcome.delivered:
        log.info("webhook delivery %s to subscription %s: %s", delivery.id, subscription.id, outcome.error)
