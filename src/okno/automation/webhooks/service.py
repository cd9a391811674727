"""Webhook subscriptions (administrators only) and the ways a delivery is made.

Deliveries come from three places: the reaction to ticket changes (okno.automation.webhooks.jobs,
one per subscription and matching event), a rule's "call a webhook" action (``send_webhook``),
and an administrator (a test ``ping``, or ``redeliver``).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor, require_admin
from okno.automation.webhooks import deliveries, payloads
from okno.automation.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from okno.automation.webhooks.schemas import SubscriptionCreate, SubscriptionUpdate, private_literal
from okno.crypto import Sealer
from okno.db import utcnow
from okno.errors import Conflict, Invalid, NotFound

SECRET_PREFIX = "whsec_"


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _check_target(url: str, allow_private: bool) -> None:
    """A URL whose host is a private IP literal needs the permission (host names are checked when sending)."""
    problem = None if allow_private else private_literal(url)
    if problem is not None:
        raise Invalid(problem, field="url", code="private_address")


def list_subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    require_admin(actor)
    return list(session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.name)))


def get_subscription(session: Session, actor: Actor, subscription_id: int) -> WebhookSubscription:
    require_admin(actor)
    found = session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound("No such webhook subscription.", code="webhook_not_found")
    return found


def create_subscription(
    session: Session, actor: Actor, *, data: SubscriptionCreate, sealer: Sealer | None = None
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret (to be shown once)."""
    require_admin(actor)
    _check_target(data.url, data.allow_private_network)
    secret = data.secret or _new_secret()
    now = utcnow(session)
    subscription = WebhookSubscription(
        name=data.name,
        url=data.url,
        secret_sealed=deliveries.sealer(session, sealer).seal(secret),
        event_kinds=list(data.event_kinds),
        enabled=data.enabled,
        allow_private_network=data.allow_private_network,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def update_subscription(
    session: Session, actor: Actor, subscription_id: int, *, data: SubscriptionUpdate
) -> WebhookSubscription:
    subscription = get_subscription(session, actor, subscription_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "url", "event_kinds", "enabled", "allow_private_network"):
        if changes.get(name) is None and name in changes:
            raise Invalid("This field cannot be empty.", field=name)
    url = changes.get("url", subscription.url)
    _check_target(url, changes.get("allow_private_network", subscription.allow_private_network))
    for name, value in changes.items():
        setattr(subscription, name, list(value) if name == "event_kinds" else value)
    subscription.updated_at = utcnow(session)
    session.flush()
    return subscription


def delete_subscription(session: Session, actor: Actor, subscription_id: int) -> None:
    """The subscription and its delivery log; pending deliveries stop (their jobs find nothing)."""
    subscription = get_subscription(session, actor, subscription_id)
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    session.delete(subscription)
    session.flush()


def rotate_secret(
    session: Session, actor: Actor, subscription_id: int, *, secret: str | None = None, sealer: Sealer | None = None
) -> str:
    """A new secret (given, or generated) from now on; attempts still pending are signed with it."""
    subscription = get_subscription(session, actor, subscription_id)
    new = secret or _new_secret()
    subscription.secret_sealed = deliveries.sealer(session, sealer).seal(new)
    subscription.updated_at = utcnow(session)
    session.flush()
    return new


# ---- the delivery log ----


def last_deliveries(session: Session, subscription_ids: list[int]) -> dict[int, WebhookDelivery]:
    """Each subscription's newest delivery (one query)."""
    if not subscription_ids:
        return {}
    newest = (
        sa.select(sa.func.max(WebhookDelivery.id))
        .where(WebhookDelivery.subscription_id.in_(subscription_ids))
        .group_by(WebhookDelivery.subscription_id)
    )
    rows = session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.id.in_(newest)))
    return {row.subscription_id: row for row in rows}


def list_deliveries(
    session: Session, actor: Actor, subscription_id: int, *, limit: int = 50, before_id: int | None = None
) -> list[WebhookDelivery]:
    """The subscription's deliveries, newest first."""
    get_subscription(session, actor, subscription_id)
    query = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(max(1, min(limit, 200)))
    )
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query))


def get_delivery(session: Session, actor: Actor, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    get_subscription(session, actor, subscription_id)
    found = session.get(WebhookDelivery, delivery_id)
    if found is None or found.subscription_id != subscription_id:
        raise NotFound("No such delivery.", code="delivery_not_found")
    return found


def redeliver(session: Session, actor: Actor, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """Sends a delivery's payload again as a new delivery, with the same event id (receivers deduplicate)."""
    original = get_delivery(session, actor, subscription_id, delivery_id)
    if original.status == DeliveryStatus.pending:
        raise Conflict("This delivery is still being attempted.", code="delivery_pending")
    subscription = get_subscription(session, actor, subscription_id)
    return deliveries.create(
        session,
        subscription,
        event_type=original.event_type,
        body=original.payload,
        ticket_id=original.ticket_id,
        ticket_event_id=original.ticket_event_id,
        event_uid=original.event_uid,
        redelivery_of_id=original.id,
    )


def send_ping(session: Session, actor: Actor, subscription_id: int) -> WebhookDelivery:
    """A test delivery (``"type": "ping"``), whatever event kinds the subscription takes."""
    subscription = get_subscription(session, actor, subscription_id)
    body = payloads.ping(subscription, utcnow(session))
    return deliveries.create(session, subscription, event_type="ping", body=body)


def send_webhook(
    session: Session, *, subscription_id: int, ticket_id: int, reason: str, event_id: int | None = None
) -> WebhookDelivery | None:
    """The rules engine's "call a webhook" action: one delivery of the ticket as it is now.

    ``reason`` says why (e.g. "rule 12: VIP complaint"), sent as the payload's ``reason``;
    ``event_id`` names the ticket event that made the rule fire, sent as the payload's ``event``.
    The subscription's event kinds do not apply (the rule chose it). A disabled or deleted
    subscription gets nothing (None). Runs inside the caller's unit of work: nothing is sent
    unless it commits, and the delivery is retried and logged like any other.
    """
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or not subscription.enabled:
        return None
    body = payloads.for_rule(session, ticket_id, reason=reason, event_id=event_id, at=utcnow(session))
    if body is None:
        raise NotFound("No such ticket.", code="ticket_not_found")
    return deliveries.create(
        session, subscription, event_type="rule", body=body, ticket_id=ticket_id, ticket_event_id=event_id
    )
