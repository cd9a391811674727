"""Trigger rules through their service and the reaction: each action, its actor, order, loops, dry runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from okno.automation.macros import service as macros_service
from okno.automation.macros.schemas import MacroCreate
from okno.automation.rules import service
from okno.automation.rules.conditions import Trigger
from okno.automation.rules.models import Rule, RuleKind
from okno.automation.rules.schemas import Conditions, RuleUpdate
from okno.automation.webhooks import service as webhooks_service
from okno.automation.webhooks.models import WebhookDelivery
from okno.automation.webhooks.schemas import SubscriptionCreate
from okno.crypto import Sealer
from okno.db import Database
from okno.errors import Forbidden, Invalid
from okno.jobs.models import Job
from okno.jobs.worker import Worker
from okno.notifications.models import Notification
from okno.tickets import fields, reactions
from okno.tickets.models import Message, MessageKind, Ticket
from okno.tickets.schemas import CustomFieldCreate
from tests.automation.rules_helpers import TIMEOUT, act, cond, events, make_rule, make_worker
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, update


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Worker:
    return make_worker(db, tmp_path)


def ticket(db: Database, people: Personas, worker: Worker, **fields: Any) -> int:
    ticket_id = make_ticket(db, people.agent.actor, **fields)
    worker.run_pending()
    return ticket_id


def get(db: Database, ticket_id: int) -> Ticket:
    with db.read() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def tags_of(db: Database, ticket_id: int) -> set[str]:
    with db.read() as session:
        found = session.scalars(
            sa.select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.tags))
        ).one()
        return {t.name for t in found.tags}


def test_a_rule_tags_by_keywords_and_is_the_actor_of_its_change(db: Database, people: Personas, worker: Worker) -> None:
    rule_id = make_rule(
        db,
        people.admin.actor,
        name="Refunds",
        conditions={
            "any": [cond("subject", "contains_any", ["refund", "возврат"]), cond("body", "matches", r"верн\w+ деньги")]
        },
        actions=[act("add_tags", ["refund"])],
    )
    hit = ticket(db, people, worker, subject="Хочу возврат", message={"body": "Товар не подошёл."})
    other = ticket(db, people, worker, subject="Where is my order?")
    by_body = ticket(db, people, worker, subject="Заказ 1042", message={"body": "Верните деньги, пожалуйста"})
    [changed] = events(db, hit, "tags_changed")
    assert changed.data == {"added": ["refund"], "removed": []}
    assert (changed.actor_type, changed.actor_id) == ("rule", rule_id)
    assert events(db, other, "tags_changed") == []
    assert [e.data["added"] for e in events(db, by_body, "tags_changed")] == [["refund"]]


def test_each_field_action_is_its_own_event_by_the_rule(db: Database, people: Personas, worker: Worker) -> None:
    with db.write() as session:
        fields.create_custom_field(
            session, people.admin.actor, data=CustomFieldCreate(key="order", label="Order", field_type="text")
        )
    rule_id = make_rule(
        db,
        people.admin.actor,
        conditions={"all": [cond("subject", "contains", "оплата")]},
        actions=[
            act("set_team", people.team_a),
            act("set_assignee", people.agent.user_id),
            act("set_priority", "urgent"),
            act("set_status", "pending"),
            act("add_tags", ["payments", "vip"]),
            act("remove_tags", ["vip"]),
            act("set_custom_field", {"key": "order", "value": "A-1042"}),
        ],
    )
    ticket_id = ticket(db, people, worker, subject="Не работает оплата", tags=["vip"])
    found = get(db, ticket_id)
    assert (found.team_id, found.assignee_id, found.priority, found.status) == (
        people.team_a,
        people.agent.user_id,
        "urgent",
        "pending",
    )
    assert found.custom_fields == {"order": "A-1042"}
    kinds = [(e.kind, e.actor_type, e.actor_id) for e in events(db, ticket_id) if e.kind != "created"]
    assert {kind for kind, _, _ in kinds} == {
        "team_changed",
        "assigned",
        "priority_changed",
        "status_changed",
        "tags_changed",
        "field_changed",
    }
    assert all((who, rule) == ("rule", rule_id) for _, who, rule in kinds)


def test_auto_reply_and_note_from_templates(db: Database, people: Personas, worker: Worker) -> None:
    rule_id = make_rule(
        db,
        people.admin.actor,
        actions=[
            act(
                "send_reply",
                {"default": "Hello {{customer.first_name}}, we got #{{ticket.number}}.", "ru": "Здравствуйте!"},
            ),
            act("add_note", "Auto-replied by a rule."),
        ],
    )
    ticket_id = ticket(db, people, worker, customer={"email": "zoe@x.example", "name": "Zoe Park"})
    with db.read() as session:
        messages = list(session.scalars(sa.select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)))
    number = get(db, ticket_id).number
    assert [(m.kind, m.author_user_id) for m in messages[1:]] == [(MessageKind.reply, None), (MessageKind.note, None)]
    assert messages[1].body_text == f"Hello Zoe, we got #{number}."
    found = get(db, ticket_id)
    # An automatic answer neither takes the ticket up nor answers the customer's wait.
    assert found.status == "new" and found.waiting_since is not None
    assert [(e.actor_type, e.actor_id) for e in events(db, ticket_id, "reply_sent")] == [("rule", rule_id)]


def test_a_russian_ticket_gets_the_russian_text(db: Database, people: Personas, worker: Worker) -> None:
    make_rule(db, people.admin.actor, actions=[act("send_reply", {"default": "Hello!", "ru": "Здравствуйте!"})])
    ticket_id = make_ticket(db, people.agent.actor)
    with db.write() as session:
        session.get(Ticket, ticket_id).language = "ru"  # type: ignore[union-attr]
    worker.run_pending()
    with db.read() as session:
        assert (
            session.scalar(
                sa.select(Message.body_text).where(Message.ticket_id == ticket_id, Message.kind == MessageKind.reply)
            )
            == "Здравствуйте!"
        )


def test_a_rule_applies_a_macro_and_calls_a_webhook_through_the_outbox(
    db: Database, people: Personas, worker: Worker
) -> None:
    with db.write() as session:
        macro = macros_service.create_macro(
            session,
            people.admin.actor,
            data=MacroCreate(
                title="Escalate",
                body="Escalated to billing.",
                kind="note",
                scope="everyone",
                actions={"priority": "high"},
            ),
        )
        hook, _secret = webhooks_service.create_subscription(
            session,
            people.admin.actor,
            data=SubscriptionCreate(name="CRM", url="https://hooks.example.com/okno", event_kinds=["merged"]),
            sealer=Sealer("test-secret"),
        )
    rule_id = make_rule(
        db,
        people.admin.actor,
        name="Escalate to the CRM",
        actions=[act("apply_macro", macro.id), act("call_webhook", hook.id)],
    )
    with db.write() as session:
        session.execute(sa.update(Job).values(status="done"))
    ticket_id = make_ticket(db, people.agent.actor)
    # Only the reaction runs here: the webhook's delivery stays queued in the outbox.
    with db.read() as session:
        [react] = session.scalars(sa.select(Job).where(Job.name == reactions.REACT_JOB, Job.status == "queued"))
        react_id = react.id
    assert worker.run_next(react_id)
    kinds = [(e.kind, e.actor_type, e.actor_id) for e in events(db, ticket_id)]
    assert ("macro_applied", "rule", rule_id) in kinds and ("priority_changed", "rule", rule_id) in kinds
    assert ("note_added", "rule", rule_id) in kinds
    with db.read() as session:
        [delivery] = session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == hook.id))
    assert delivery.ticket_id == ticket_id and delivery.event_type == "rule"
    assert delivery.payload["reason"] == f"rule {rule_id}: Escalate to the CRM"


def test_notify_supervisors(db: Database, people: Personas, worker: Worker) -> None:
    rule_id = make_rule(db, people.admin.actor, actions=[act("notify_supervisors")])
    ticket_id = ticket(db, people, worker)
    with db.read() as session:
        rows = session.execute(sa.select(Notification.user_id, Notification.kind, Notification.rule_id)).all()
    # No supervisor on a team without one: the admins hear of it.
    assert rows == [(people.admin.user_id, "rule", rule_id)]
    assert ticket_id


def test_rules_run_in_order_and_only_when_on(db: Database, people: Personas, worker: Worker) -> None:
    first = make_rule(db, people.admin.actor, name="Urgent", actions=[act("set_priority", "urgent")])
    make_rule(
        db,
        people.admin.actor,
        name="Tag urgent",
        conditions={"all": [cond("priority", "is", "urgent")]},
        actions=[act("add_tags", ["hot"])],
    )
    assert "hot" in tags_of(db, ticket(db, people, worker))
    with db.write() as session:
        service.set_active(session, people.admin.actor, first, active=False)
    assert tags_of(db, ticket(db, people, worker)) == set()


def test_two_rules_that_undo_each_other_stop(db: Database, people: Personas, worker: Worker) -> None:
    up = make_rule(
        db,
        people.admin.actor,
        triggers=["ticket_updated"],
        conditions={"all": [cond("tags", "includes", "watch"), cond("priority", "is", "normal")]},
        actions=[act("set_priority", "urgent")],
    )
    down = make_rule(
        db,
        people.admin.actor,
        triggers=["ticket_updated"],
        conditions={"all": [cond("tags", "includes", "watch"), cond("priority", "is", "urgent")]},
        actions=[act("set_priority", "normal")],
    )
    ticket_id = ticket(db, people, worker)
    update(db, people.agent.actor, ticket_id, add_tags=["watch"])
    for _ in range(20):
        worker.run_pending()
    changed = events(db, ticket_id, "priority_changed")
    assert [(e.actor_id, e.data["new"]) for e in changed] == [(up, "urgent"), (down, "normal")]
    # A new change by a person starts a new chain: each may fire once more.
    update(db, people.agent.actor, ticket_id, add_tags=["again"])
    worker.run_pending()
    assert len(events(db, ticket_id, "priority_changed")) == 4
    with db.read() as session:
        assert set(session.scalars(sa.select(Job.status))) == {"done"}


def test_a_rule_changed_by_a_later_round_does_not_fire_twice_in_its_chain(
    db: Database, people: Personas, worker: Worker
) -> None:
    # Each sees the other's change only in the next round: a ping-pong across rounds.
    ping = make_rule(
        db,
        people.admin.actor,
        triggers=["ticket_updated"],
        conditions={"all": [cond("priority", "changed_to", "high")]},
        actions=[act("set_priority", "low")],
    )
    pong = make_rule(
        db,
        people.admin.actor,
        triggers=["ticket_updated"],
        conditions={"all": [cond("priority", "changed_to", "low")]},
        actions=[act("set_priority", "high")],
    )
    ticket_id = ticket(db, people, worker)
    update(db, people.agent.actor, ticket_id, priority="high")
    for _ in range(20):
        worker.run_pending()
    assert [e.actor_id for e in events(db, ticket_id, "priority_changed")] == [people.agent.user_id, ping, pong]


def test_a_refused_action_undoes_its_rule_only_and_is_kept_for_admins(
    db: Database, people: Personas, worker: Worker
) -> None:
    broken = make_rule(
        db,
        people.admin.actor,
        name="Assign outside the team",
        actions=[
            act("add_tags", ["half-done"]),
            act("set_team", people.team_b),
            act("set_assignee", people.agent.user_id),
        ],
    )
    make_rule(db, people.admin.actor, name="Still runs", actions=[act("add_tags", ["ok"])])
    ticket_id = ticket(db, people, worker)
    assert tags_of(db, ticket_id) == {"ok"}
    with db.read() as session:
        rule = session.get(Rule, broken)
        assert rule is not None and rule.last_error is not None and f"#{ticket_id}" in rule.last_error


def test_saving_names_every_refused_field(db: Database, people: Personas) -> None:
    data = {
        "name": "Bad",
        "triggers": ["ticket_created"],
        "conditions": {"all": [cond("body", "matches", "(a|aa)+$"), cond("team", "is", 99999)]},
        "actions": [act("set_priority", "asap"), act("apply_macro", 12345)],
    }
    from okno.automation.rules.schemas import RuleCreate

    with db.write() as session, pytest.raises(Invalid) as refused:
        service.create_rule(session, people.admin.actor, data=RuleCreate.model_validate(data), regex_timeout=TIMEOUT)
    assert [d["field"] for d in refused.value.details] == ["conditions.all.0.value", "actions.0.value"]
    data["conditions"] = {"all": [cond("team", "is", 99999)]}
    data["actions"] = [act("apply_macro", 12345), act("set_assignee", people.light_agent.user_id)]
    with db.write() as session, pytest.raises(Invalid) as refused:
        service.create_rule(session, people.admin.actor, data=RuleCreate.model_validate(data), regex_timeout=TIMEOUT)
    assert [d["field"] for d in refused.value.details] == [
        "conditions.all.0.value",
        "actions.0.value",
        "actions.1.value",
    ]
    with db.write() as session, pytest.raises(Forbidden):
        service.list_rules(session, people.agent.actor)


def test_updating_reordering_and_the_defaults(db: Database, people: Personas) -> None:
    with db.read() as session:
        defaults = {r.system_key: r for r in service.list_rules(session, people.admin.actor)}
    assert set(defaults) == {
        "acknowledge_email",
        "remind_pending",
        "solve_pending",
        "close_solved",
        "notify_unassigned",
    }
    one = make_rule(db, people.admin.actor, name="One", actions=[act("add_tags", ["one"])])
    two = make_rule(db, people.admin.actor, name="Two", actions=[act("add_tags", ["two"])])
    ack = defaults["acknowledge_email"].id
    with db.write() as session:
        service.reorder(session, people.admin.actor, kind=RuleKind.trigger, rule_ids=[two, ack, one])
        service.move(session, people.admin.actor, one, by=-1)
        names = [r.name for r in service.list_rules(session, people.admin.actor, kind=RuleKind.trigger)]
    assert names == ["Two", "One", "Acknowledge new email tickets"]
    with db.write() as session:
        rule = service.update_rule(
            session,
            people.admin.actor,
            one,
            changes=RuleUpdate(name="One, renamed", triggers=[Trigger.message_received]),
            regex_timeout=TIMEOUT,
        )
        assert (rule.name, rule.triggers, rule.actions) == (
            "One, renamed",
            ["message_received"],
            [act("add_tags", ["one"])],
        )
        with pytest.raises(Invalid):
            service.reorder(session, people.admin.actor, kind=RuleKind.trigger, rule_ids=[one, two])


def test_a_dry_run_shows_the_recent_tickets_a_rule_would_match_and_changes_nothing(
    db: Database, people: Personas, worker: Worker
) -> None:
    payment = ticket(db, people, worker, subject="Не работает оплата картой")
    ticket(db, people, worker, subject="Where is my order?")
    older = ticket(db, people, worker, subject="оплата снова не работает")
    groups = Conditions.model_validate({"all": [cond("subject", "matches", r"не\s+работает|оплата")]})
    with db.read() as session:
        result = service.dry_run(
            session, people.admin.actor, groups=groups, triggers=["ticket_created"], last=50, regex_timeout=TIMEOUT
        )
        assert result.examined == 3 and set(result.matched_ids) == {payment, older}
        result = service.dry_run(
            session, people.admin.actor, groups=groups, triggers=["ticket_created"], last=1, regex_timeout=TIMEOUT
        )
        assert result.examined == 1 and result.matched_ids == [older]
    assert events(db, payment, "tags_changed") == []


def test_a_change_no_active_trigger_rule_listens_for_queues_no_job(
    db: Database, people: Personas, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_rules = {"rules.run": reactions._reactions["rules.run"]}
    monkeypatch.setattr(reactions, "_reactions", only_rules)  # whatever other domains register

    def react_jobs() -> int:
        with db.read() as session:
            return int(session.scalar(sa.select(sa.func.count()).where(Job.name == reactions.REACT_JOB)) or 0)

    ticket_id = ticket(db, people, worker)
    assert react_jobs() == 1  # the default acknowledgement listens for new tickets
    update(db, people.agent.actor, ticket_id, priority="urgent")
    assert react_jobs() == 1  # nothing listens for updates
    make_rule(db, people.admin.actor, triggers=["ticket_updated"], actions=[act("add_tags", ["seen"])])
    update(db, people.agent.actor, ticket_id, priority="low")
    assert react_jobs() == 2
    worker.run_pending()
    assert "seen" in tags_of(db, ticket_id)
