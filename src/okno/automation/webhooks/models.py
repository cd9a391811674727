from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from okno.db import NEVER_REUSE_IDS, Base, BigId, JSONData, UTCDateTime


class WebhookSubscription(Base):
    """A URL told about ticket events, managed by administrators.

    The secret signs every delivery; it is stored sealed with the installation's secret key
    (okno.crypto). ``allow_private_network`` is the explicit permission to reach private,
    loopback and link-local addresses, refused otherwise (see okno.automation.webhooks.addresses).
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(2000))
    secret_sealed: Mapped[str] = mapped_column(sa.Text)
    # Ticket event kinds (okno.tickets.events.EventKind values); empty: every kind.
    event_kinds: Mapped[list[str]] = mapped_column(JSONData, default=list)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    allow_private_network: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # given up: out of attempts, or an answer that retrying will not change
    refused = "refused"  # never sent: the target is not allowed (a private address)


class WebhookDelivery(Base):
    """One payload for one subscription, with the outcome of its attempts (the delivery log).

    ``event_uid`` is the id receivers deduplicate by: the same across retries and manual
    redeliveries of the payload. ``payload`` is frozen when the delivery is made, so every
    attempt sends the same body.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        sa.Index("ix_webhook_deliveries_created", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_uid: Mapped[str] = mapped_column(sa.String(64))
    event_type: Mapped[str] = mapped_column(sa.String(60))  # an event kind, "rule" or "ping"
    ticket_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    ticket_event_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)
    status: Mapped[DeliveryStatus] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    redelivery_of_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(sa.Integer)
    response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.String(64))  # the address last connected to
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
