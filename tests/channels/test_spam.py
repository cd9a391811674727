"""Spam on arrival: a mail that scores opens its ticket in the spam folder, unanswered, unrouted, with no clock.

Service level on both databases, with the mail filed by its job and answers going to a real SMTP
server (aiosmtpd), routing and the SLA clock set up as a desk would have them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.accounts.permissions import Actor
from okno.automation.sla.models import SlaTarget
from okno.automation.webhooks import service as webhooks
from okno.automation.webhooks.schemas import SubscriptionCreate
from okno.channels.email import mailboxes
from okno.channels.email.models import InboundEmail
from okno.channels.email.schemas import MailboxCreate
from okno.channels.spam import service as spam_service
from okno.channels.spam.schemas import SpamRuleIn, SpamSettingsUpdate
from okno.crypto import Sealer
from okno.routing import profiles
from okno.routing.schemas import TeamRoutingUpdate
from okno.runtime import Runtime
from okno.tickets import inbox, queries
from okno.tickets.models import Ticket, TicketEvent
from tests.automation.webhook_receiver import serve as serve_webhooks
from tests.channels.mail_servers import Outbox, smtp_server
from tests.channels.test_email_processing import customer_mail, receive
from tests.factories.personas import Personas
from tests.factories.sla import make_policy

SPAM = {
    "Subject": "YOU HAVE WON!!!",
    "body": "You have won the lottery jackpot. Claim your prize today: "
    "https://prize.example/a https://prize.example/b https://prize.example/c",
}


@pytest.fixture
def desk(runtime: Runtime, people: Personas) -> Iterator[Outbox]:
    """A mailbox of team A that can send, a team that routes, an agent online, an SLA policy."""
    with smtp_server() as (port, box):
        with runtime.db.write() as session:
            mailboxes.add_mailbox(
                session,
                Actor.system("tests"),
                data=MailboxCreate(
                    address="support@shop.example",
                    display_name="Shop support",
                    team_id=people.team_a,
                    smtp_host="127.0.0.1",
                    smtp_port=port,
                    smtp_security="none",
                ),
                sealer=Sealer("test-secret"),
            )
            profiles.update_team(
                session, people.admin.actor, people.team_a, changes=TeamRoutingUpdate(policy="least_loaded")
            )
            presence.set_status(session, people.agent.actor, PresenceStatus.online)
        make_policy(runtime.db)
        yield box


def ticket_of(runtime: Runtime, inbound: InboundEmail) -> Ticket:
    assert inbound.status == "processed" and inbound.ticket_id is not None
    with runtime.db.read() as session:
        ticket = session.get(Ticket, inbound.ticket_id)
        assert ticket is not None
        return ticket


def events(runtime: Runtime, ticket_id: int) -> list[tuple[str, dict[str, Any]]]:
    with runtime.db.read() as session:
        rows = session.execute(
            sa.select(TicketEvent.kind, TicketEvent.data)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        )
        return [(kind, dict(data)) for kind, data in rows]


def marking(runtime: Runtime, ticket_id: int) -> dict[str, Any]:
    [data] = [data for kind, data in events(runtime, ticket_id) if kind == "marked_spam"]
    return data


def sla_targets(runtime: Runtime, ticket_id: int) -> int:
    with runtime.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).where(SlaTarget.ticket_id == ticket_id)) or 0)


def test_spam_opens_its_ticket_in_the_spam_folder_unanswered_unrouted_and_without_a_clock(
    runtime: Runtime, desk: Outbox, people: Personas
) -> None:
    spam = receive(runtime, customer_mail("<won@prize.example>", sender="Prize Desk <draw@prize.example>", **SPAM))
    ticket = ticket_of(runtime, spam)
    assert ticket.spam_at is not None and ticket.assignee_id is None and ticket.sla_due_at is None
    assert spam.answer_to is None  # never answered automatically, not even once taken out of spam
    kinds = [kind for kind, _ in events(runtime, ticket.id)]
    assert kinds == ["created", "marked_spam"]
    why = marking(runtime, ticket.id)
    assert (why["reason"], why["score"], why["threshold"]) == ("score", 6.0, 5.0)
    assert [s["code"] for s in why["signals"]] == ["many_links", "spam_phrases", "shouting_subject"]
    assert sla_targets(runtime, ticket.id) == 0

    # The same desk answers, routes and times an ordinary mail.
    ordinary = ticket_of(runtime, receive(runtime, customer_mail()))
    assert ordinary.spam_at is None and ordinary.assignee_id == people.agent.user_id
    assert sla_targets(runtime, ordinary.id) > 0
    [(recipients, _ack)] = desk.wait_for(1)
    assert recipients == ["anna@customer.example"]
    assert len(desk.mails) == 1  # nothing ever went to the spammer

    with runtime.db.read() as session:
        agent = people.agent.actor
        counts = inbox.CountCache().get(session, agent, ticket.created_at)
        assert counts["spam"] == 1 and counts["all_open"] == 1
        in_spam, _ = queries.list_tickets(session, agent, queries.TicketFilters(spam=True))
        assert [t.id for t in in_spam] == [ticket.id]
        searched, _ = queries.list_tickets(session, agent, queries.TicketFilters(q="lottery"))
        assert searched == []


def _rule(runtime: Runtime, people: Personas, **fields: Any) -> int:
    with runtime.db.write() as session:
        data = SpamRuleIn.model_validate(fields)
        return spam_service.create_rule(session, people.admin.actor, data=data, regex_timeout=0.05).id


def test_known_senders_and_allowed_domains_stay_out_of_spam_and_blocked_senders_go_in(
    runtime: Runtime, desk: Outbox, people: Personas
) -> None:
    ordinary = ticket_of(runtime, receive(runtime, customer_mail()))
    assert ordinary.spam_at is None
    # The customer writes again, a new request that happens to look like spam: still theirs.
    again = ticket_of(runtime, receive(runtime, customer_mail("<q-9@customer.example>", **SPAM)))
    assert again.spam_at is None and again.id != ordinary.id

    _rule(runtime, people, field="domain", match="equals", value="partner.example", action="allow")
    allowed = receive(runtime, customer_mail("<p-1@partner.example>", sender="P <news@mail.partner.example>", **SPAM))
    assert ticket_of(runtime, allowed).spam_at is None

    blocked_rule = _rule(runtime, people, field="sender", match="equals", value="pest@nuisance.example", action="block")
    blocked = ticket_of(
        runtime, receive(runtime, customer_mail("<b-1@nuisance.example>", sender="pest@nuisance.example"))
    )
    assert blocked.spam_at is not None
    assert (marking(runtime, blocked.id)["reason"], marking(runtime, blocked.id)["rule_id"]) == (
        "blocked",
        blocked_rule,
    )

    rule = _rule(runtime, people, field="subject", match="regex", value=r"^invoice \d+$", weight=5)
    scored = ticket_of(
        runtime, receive(runtime, customer_mail("<i-1@x.example>", sender="x@x.example", Subject="Invoice 77"))
    )
    assert scored.spam_at is not None
    assert [(s["code"], s["rule_id"]) for s in marking(runtime, scored.id)["signals"]] == [("rule", rule)]


def test_a_switched_off_filter_files_nothing_into_spam(runtime: Runtime, desk: Outbox, people: Personas) -> None:
    with runtime.db.write() as session:
        spam_service.update_settings(session, people.admin.actor, changes=SpamSettingsUpdate(enabled=False))
    spam = receive(runtime, customer_mail("<won@prize.example>", sender="draw@prize.example", **SPAM))
    assert ticket_of(runtime, spam).spam_at is None
    with runtime.db.write() as session:
        spam_service.update_settings(session, people.admin.actor, changes=SpamSettingsUpdate(enabled=True, threshold=7))
    higher = receive(runtime, customer_mail("<won-2@prize.example>", sender="draw2@prize.example", **SPAM))
    assert ticket_of(runtime, higher).spam_at is None  # 6 is below 7


def test_a_conversation_goes_on_where_it_is(runtime: Runtime, desk: Outbox, people: Personas) -> None:
    ordinary = ticket_of(runtime, receive(runtime, customer_mail()))
    spammy_reply = customer_mail("<q-2@customer.example>", In_Reply_To="<q-1@customer.example>", **SPAM)
    assert ticket_of(runtime, receive(runtime, spammy_reply)).id == ordinary.id  # a reply is not judged
    assert ticket_of(runtime, receive(runtime, spammy_reply.replace(b"q-2", b"q-3"))).spam_at is None

    spam = ticket_of(
        runtime, receive(runtime, customer_mail("<won@prize.example>", sender="draw@prize.example", **SPAM))
    )
    follow = customer_mail("<won-2@prize.example>", sender="draw@prize.example", In_Reply_To="<won@prize.example>")
    assert ticket_of(runtime, receive(runtime, follow)).id == spam.id
    assert [kind for kind, _ in events(runtime, spam.id)] == ["created", "marked_spam", "message_received"]
    assert ticket_of(runtime, receive(runtime, follow.replace(b"won-2", b"won-3"))).spam_at is not None
    assert len(desk.wait_for(1)) == 1  # the one acknowledgement, of the ordinary mail


def test_webhooks_hear_only_of_the_marking(runtime: Runtime, desk: Outbox, people: Personas) -> None:
    found, server = serve_webhooks()
    try:
        with runtime.db.write() as session:
            webhooks.create_subscription(
                session,
                people.admin.actor,
                data=SubscriptionCreate(name="Everything", url=found.url(), allow_private_network=True),
            )
        spam = ticket_of(
            runtime, receive(runtime, customer_mail("<won@prize.example>", sender="x@prize.example", **SPAM))
        )
        ordinary = ticket_of(runtime, receive(runtime, customer_mail()))
        runtime.worker.run_pending()
        told = [json.loads(hit.body) for hit in found.hits("/hook")]
        about_spam = [body["event"]["kind"] for body in told if body["ticket"]["id"] == spam.id]
        assert about_spam == ["marked_spam"]
        assert "created" in [body["event"]["kind"] for body in told if body["ticket"]["id"] == ordinary.id]
    finally:
        server.shutdown()
        server.server_close()
