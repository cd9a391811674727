"""JSON routes for webhook subscriptions and their delivery logs (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from okno.automation.webhooks import service
from okno.automation.webhooks.models import WebhookSubscription
from okno.automation.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    SecretRead,
    SecretRotate,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from okno.http.deps import CurrentActor, DbSession
from okno.http.idempotency import IdempotencyDep
from okno.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


def _read(session: Session, subscription: WebhookSubscription) -> SubscriptionRead:
    last = service.last_deliveries(session, [subscription.id]).get(subscription.id)
    read = SubscriptionRead.model_validate(subscription)
    read.last_delivery = DeliveryRead.model_validate(last) if last is not None else None
    return read


@router.get("/webhooks", response_model=list[SubscriptionRead], summary="List webhook subscriptions")
def list_webhooks(session: DbSession, actor: CurrentActor) -> list[SubscriptionRead]:
    found = service.list_subscriptions(session, actor)
    last = service.last_deliveries(session, [s.id for s in found])
    reads = [SubscriptionRead.model_validate(s) for s in found]
    for read in reads:
        delivery = last.get(read.id)
        read.last_delivery = DeliveryRead.model_validate(delivery) if delivery is not None else None
    return reads


@router.post(
    "/webhooks",
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe a URL to ticket events",
    description="Every delivery is a signed JSON POST (see docs/subsystems/webhooks.md). The secret is generated "
    "unless given, and returned only in this answer. Targets on private, loopback or link-local addresses are "
    "refused unless `allow_private_network` is true.",
)
def create_webhook(
    body: SubscriptionCreate, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    def produce() -> SubscriptionCreated:
        subscription, secret = service.create_subscription(session, actor, data=body)
        return SubscriptionCreated.model_validate({**_read(session, subscription).model_dump(), "secret": secret})

    return idempotency.respond(201, produce)


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionRead, summary="One webhook subscription")
def get_webhook(subscription_id: Id, session: DbSession, actor: CurrentActor) -> SubscriptionRead:
    return _read(session, service.get_subscription(session, actor, subscription_id))


@router.patch("/webhooks/{subscription_id}", response_model=SubscriptionRead, summary="Change a subscription")
def update_webhook(
    subscription_id: Id, body: SubscriptionUpdate, session: DbSession, actor: CurrentActor
) -> SubscriptionRead:
    return _read(session, service.update_subscription(session, actor, subscription_id, data=body))


@router.delete("/webhooks/{subscription_id}", status_code=204, summary="Delete a subscription and its log")
def delete_webhook(subscription_id: Id, session: DbSession, actor: CurrentActor) -> Response:
    service.delete_subscription(session, actor, subscription_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{subscription_id}/secret",
    response_model=SecretRead,
    summary="Replace the signing secret",
    description="Generated unless given; returned only in this answer. Takes effect at once.",
)
def rotate_webhook_secret(
    subscription_id: Id,
    session: DbSession,
    actor: CurrentActor,
    idempotency: IdempotencyDep,
    body: SecretRotate | None = None,
) -> Response:
    given = body.secret if body else None
    return idempotency.respond(
        200, lambda: SecretRead(secret=service.rotate_secret(session, actor, subscription_id, secret=given))
    )


@router.post(
    "/webhooks/{subscription_id}/ping",
    status_code=202,
    response_model=DeliveryRead,
    summary="Send a test delivery",
)
def ping_webhook(subscription_id: Id, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep) -> Response:
    return idempotency.respond(
        202, lambda: DeliveryRead.model_validate(service.send_ping(session, actor, subscription_id))
    )


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    summary="The delivery log, newest first",
)
def list_webhook_deliveries(
    subscription_id: Id,
    session: DbSession,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[Id | None, Query(description="Deliveries older than this one (the next page).")] = None,
) -> DeliveryPage:
    found = service.list_deliveries(session, actor, subscription_id, limit=limit, before_id=before_id)
    return DeliveryPage(items=[DeliveryRead.model_validate(d) for d in found])


@router.post(
    "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryRead,
    summary="Send a delivery's payload again",
    description="A new delivery with the same payload and event id (receivers deduplicate by it).",
)
def redeliver_webhook(
    subscription_id: Id, delivery_id: Id, session: DbSession, actor: CurrentActor, idempotency: IdempotencyDep
) -> Response:
    return idempotency.respond(
        202, lambda: DeliveryRead.model_validate(service.redeliver(session, actor, subscription_id, delivery_id))
    )
