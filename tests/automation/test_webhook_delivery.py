"""Webhook deliveries against a real HTTP receiver on 127.0.0.1: signed, retried, logged, refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.automation.webhooks import deliveries, service
from okno.automation.webhooks.models import WebhookDelivery
from okno.automation.webhooks.schemas import SubscriptionCreate, SubscriptionUpdate
from okno.automation.webhooks.signing import verify
from okno.clock import FrozenClock
from okno.db import Database
from okno.errors import Invalid
from okno.jobs.models import Job
from okno.runtime import Runtime
from okno.tickets import reactions
from tests.automation.webhook_receiver import Receiver
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, update


def subscribe(db: Database, people: Personas, url: str, **fields: object) -> tuple[int, str]:
    data = SubscriptionCreate.model_validate({"name": "CRM", "url": url, "allow_private_network": True} | fields)
    with db.write() as session:
        created, secret = service.create_subscription(session, people.admin.actor, data=data)
        return created.id, secret


def log(db: Database, subscription_id: int) -> list[WebhookDelivery]:
    with db.read() as session:
        return service.list_deliveries(session, Actor.system("tests"), subscription_id)


def drain(runtime: Runtime) -> None:
    runtime.worker.run_pending()


def test_a_ticket_event_is_delivered_signed_with_its_event_id(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver, clock: FrozenClock
) -> None:
    subscription_id, secret = subscribe(db, people, receiver.url())
    assert secret.startswith("whsec_")
    ticket_id = make_ticket(db, people.agent.actor)
    drain(runtime)
    (hit,) = receiver.hits("/hook")
    body = json.loads(hit.body)
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-okno-event"] == body["type"] == "created"
    assert hit.headers["x-okno-event-id"] == body["id"]
    assert hit.headers["x-okno-timestamp"] == str(int(clock.now().timestamp()))
    assert verify(secret, hit.headers["x-okno-signature"], hit.body, now=int(clock.now().timestamp()))
    assert body["ticket"]["id"] == ticket_id and body["ticket"]["subject"] == "Where is my order?"
    assert body["event"]["kind"] == "created" and body["event"]["ticket_id"] == ticket_id
    (delivery,) = log(db, subscription_id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert delivery.response_excerpt == "thanks" and delivery.address == "127.0.0.1"
    assert hit.headers["x-okno-delivery"] == str(delivery.id)


def test_only_the_chosen_event_kinds_are_sent(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(db, people, receiver.url(), event_kinds=["priority_changed"])
    ticket_id = make_ticket(db, people.agent.actor)
    update(db, people.agent.actor, ticket_id, priority="urgent", tags=["vip"])
    drain(runtime)
    assert [json.loads(h.body)["type"] for h in receiver.received] == ["priority_changed"]
    with db.write() as session:
        service.update_subscription(
            session, people.admin.actor, subscription_id, data=SubscriptionUpdate(enabled=False)
        )
    update(db, people.agent.actor, ticket_id, priority="low")
    drain(runtime)
    assert len(receiver.received) == 1


def test_failures_are_retried_with_back_off_and_logged(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver, clock: FrozenClock
) -> None:
    answers = iter([(500, {}, b"database down"), (503, {}, b""), (200, {}, b"ok")])
    receiver.answers["/flaky"] = lambda: next(answers)
    subscription_id, _ = subscribe(db, people, receiver.url("/flaky"))
    make_ticket(db, people.agent.actor)
    drain(runtime)
    (delivery,) = log(db, subscription_id)
    assert (delivery.status, delivery.attempts, delivery.error) == ("pending", 1, "HTTP 500")
    assert delivery.response_excerpt == "database down"
    assert delivery.next_attempt_at == clock.now() + deliveries.RETRY_DELAYS[0]
    drain(runtime)
    assert len(receiver.received) == 1  # not due yet
    clock.advance(deliveries.RETRY_DELAYS[0])
    drain(runtime)
    clock.advance(deliveries.RETRY_DELAYS[1])
    drain(runtime)
    (delivery,) = log(db, subscription_id)
    assert (delivery.status, delivery.attempts, delivery.error, delivery.response_status) == ("delivered", 3, None, 200)
    assert len({h.headers["x-okno-event-id"] for h in receiver.received}) == 1  # one event, three attempts


def test_a_delivery_gives_up_after_its_attempts_or_at_once_when_retrying_cannot_help(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver, clock: FrozenClock
) -> None:
    receiver.answers["/down"] = lambda: (502, {}, b"")
    receiver.answers["/gone"] = lambda: (410, {}, b"")
    down, _ = subscribe(db, people, receiver.url("/down"))
    gone, _ = subscribe(db, people, receiver.url("/gone"))
    make_ticket(db, people.agent.actor)
    for delay in (timedelta(0), *deliveries.RETRY_DELAYS, timedelta(days=1)):
        clock.advance(delay)
        drain(runtime)
    assert len(receiver.hits("/down")) == deliveries.MAX_ATTEMPTS
    assert [(d.status, d.attempts, d.error) for d in log(db, down)] == [("failed", deliveries.MAX_ATTEMPTS, "HTTP 502")]
    assert [(d.status, d.attempts) for d in log(db, gone)] == [("failed", 1)]
    with db.read() as session:  # the outbox did its part: every attempt was a job that finished
        statuses = set(session.scalars(sa.select(Job.status).where(Job.name == deliveries.DELIVER_JOB)))
    assert statuses == {"done"}


def test_redelivery_sends_the_same_payload_and_event_id(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(db, people, receiver.url())
    make_ticket(db, people.agent.actor)
    drain(runtime)
    (first,) = log(db, subscription_id)
    with db.write() as session:
        again = service.redeliver(session, people.admin.actor, subscription_id, first.id)
    drain(runtime)
    assert again.redelivery_of_id == first.id and again.event_uid == first.event_uid
    one, two = receiver.received
    assert json.loads(one.body) == json.loads(two.body)
    assert one.headers["x-okno-event-id"] == two.headers["x-okno-event-id"]
    assert one.headers["x-okno-delivery"] != two.headers["x-okno-delivery"]


def test_rules_call_a_webhook_with_the_ticket_and_a_reason(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(db, people, receiver.url(), event_kinds=["merged"])
    ticket_id = make_ticket(db, people.agent.actor)
    with db.write() as session:
        delivery = service.send_webhook(
            session, subscription_id=subscription_id, ticket_id=ticket_id, reason="rule 7: VIP complaint"
        )
    assert delivery is not None
    drain(runtime)
    (hit,) = receiver.received  # the rule's call; "created" is not among the subscription's kinds
    body = json.loads(hit.body)
    assert (body["type"], body["reason"], body["ticket"]["id"], body["event"]) == (
        "rule",
        "rule 7: VIP complaint",
        ticket_id,
        None,
    )
    with db.write() as session:
        service.update_subscription(
            session, people.admin.actor, subscription_id, data=SubscriptionUpdate(enabled=False)
        )
        assert service.send_webhook(session, subscription_id=subscription_id, ticket_id=ticket_id, reason="x") is None


# ---- refusals: the target must be public unless private networks are allowed ----


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "0.0.0.0"]
)
def test_private_ip_addresses_are_refused_when_subscribing(db: Database, people: Personas, host: str) -> None:
    with db.write() as session, pytest.raises(Invalid) as caught:
        service.create_subscription(
            session, people.admin.actor, data=SubscriptionCreate(name="x", url=f"http://{host}:8080/hook")
        )
    assert caught.value.code == "private_address" and caught.value.details[0]["field"] == "url"


def test_a_host_name_resolving_to_loopback_is_refused_when_sending(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(db, people, receiver.url(host="localhost"), allow_private_network=False)
    make_ticket(db, people.agent.actor)
    drain(runtime)
    assert receiver.received == []
    (delivery,) = log(db, subscription_id)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("refused", 1, None)
    assert delivery.error is not None and "localhost resolves to" in delivery.error and "loopback" in delivery.error


def test_turning_the_permission_off_refuses_the_next_attempt(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    subscription_id, _ = subscribe(db, people, receiver.url(host="localhost"))
    with db.write() as session, pytest.raises(Invalid):
        service.update_subscription(
            session,
            people.admin.actor,
            subscription_id,
            data=SubscriptionUpdate(url=receiver.url(), allow_private_network=False),
        )
    with db.write() as session:
        service.update_subscription(
            session, people.admin.actor, subscription_id, data=SubscriptionUpdate(allow_private_network=False)
        )
    make_ticket(db, people.agent.actor)
    drain(runtime)
    assert receiver.received == [] and [d.status for d in log(db, subscription_id)] == ["refused"]


def test_a_redirect_is_never_followed(runtime: Runtime, db: Database, people: Personas, receiver: Receiver) -> None:
    # Even with private networks allowed for this subscription, a redirect goes nowhere:
    # a receiver cannot send Okno on to an internal address.
    receiver.answers["/moved"] = lambda: (302, {"Location": receiver.url("/internal")}, b"")
    subscription_id, _ = subscribe(db, people, receiver.url("/moved"))
    make_ticket(db, people.agent.actor)
    drain(runtime)
    assert receiver.hits("/internal") == [] and len(receiver.hits("/moved")) == 1
    (delivery,) = log(db, subscription_id)
    assert (delivery.status, delivery.response_status) == ("failed", 302)
    assert delivery.error is not None and "redirects are not followed" in delivery.error


def test_a_ticket_change_no_enabled_subscription_takes_queues_nothing_for_webhooks(
    runtime: Runtime, db: Database, people: Personas, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_webhooks = {"webhooks.queue": reactions._reactions["webhooks.queue"]}
    monkeypatch.setattr(reactions, "_reactions", only_webhooks)  # whatever other domains register

    def react_jobs() -> int:
        with db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).where(Job.name == reactions.REACT_JOB)) or 0)

    make_ticket(db, people.agent.actor)
    assert react_jobs() == 0
    subscription_id, _ = subscribe(db, people, receiver.url(), event_kinds=["priority_changed"])
    ticket_id = make_ticket(db, people.agent.actor)
    assert react_jobs() == 0  # it does not take "created"
    update(db, people.agent.actor, ticket_id, priority="urgent")
    assert react_jobs() == 1
    drain(runtime)
    assert [json.loads(h.body)["type"] for h in receiver.received] == ["priority_changed"]
    with db.write() as session:
        service.update_subscription(
            session, people.admin.actor, subscription_id, data=SubscriptionUpdate(enabled=False)
        )
    update(db, people.agent.actor, ticket_id, priority="low")
    assert react_jobs() == 1
