"""Macros through their service: who sees which, who may change and apply them, what applying does."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.automation.macros import service
from okno.automation.macros.schemas import MacroCreate, MacroUpdate
from okno.db import Database
from okno.errors import Conflict, Forbidden, Invalid, NotFound
from okno.tickets.models import Message, TicketEvent
from okno.tickets.schemas import MessageCreate
from tests.factories.personas import Personas, make_person
from tests.factories.tickets import make_ticket

GREETING = "Здравствуйте, {{customer.first_name}}! Заказ по обращению #{{ticket.number}} в пути. — {{agent.first_name}}"


def create(db: Database, actor: Actor, **fields: Any) -> int:
    data = {"title": "Order on its way", "body": GREETING, **fields}
    with db.write() as session:
        return service.create_macro(session, actor, data=MacroCreate.model_validate(data)).id


def titles(db: Database, actor: Actor, scope: str = "mine") -> set[str]:
    with db.read() as session:
        return {m.title for m in service.list_macros(session, actor, scope=scope)}


def events_of(db: Database, ticket_id: int) -> list[tuple[str, dict[str, Any], str, int | None]]:
    with db.read() as session:
        rows = session.scalars(
            sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return [(e.kind, e.data, e.actor_type, e.actor_id) for e in rows]


def test_scopes_decide_who_sees_a_macro(db: Database, people: Personas) -> None:
    supervisor = make_person(db, email="sup@okno.example.com", role=Role.supervisor)
    create(db, people.agent.actor, title="Agent's own")
    create(db, people.admin.actor, title="Support team", scope="team", team_id=people.team_a)
    create(db, people.admin.actor, title="Billing team", scope="team", team_id=people.team_b)
    create(db, supervisor.actor, title="For everyone", scope="everyone")
    assert titles(db, people.agent.actor) == {"Agent's own", "Support team", "For everyone"}
    assert titles(db, people.colleague.actor) == {"Support team", "For everyone"}
    assert titles(db, people.other_agent.actor) == {"Billing team", "For everyone"}
    assert titles(db, people.agent.actor, "personal") == {"Agent's own"}
    # Admins and supervisors manage every team's macros, never someone's personal ones.
    assert titles(db, supervisor.actor, "all") == {"Support team", "Billing team", "For everyone"}
    assert titles(db, supervisor.actor) == {"For everyone"}
    assert titles(db, people.admin.actor, "team") == {"Support team", "Billing team"}
    with db.read() as session, pytest.raises(Forbidden):
        service.list_macros(session, people.customer.actor)
    own = create(db, people.colleague.actor, title="Colleague's own")
    with db.read() as session, pytest.raises(NotFound):
        service.get_macro(session, people.agent.actor, own)


def test_only_admins_and_supervisors_share_and_owners_edit(db: Database, people: Personas) -> None:
    with db.write() as session, pytest.raises(Forbidden) as refused:
        service.create_macro(session, people.agent.actor, data=MacroCreate(title="x", body="y", scope="everyone"))
    assert refused.value.details == [{"field": "scope", "reason": "not allowed for your role"}]
    shared = create(db, people.admin.actor, title="Shared", scope="team", team_id=people.team_a)
    with db.write() as session, pytest.raises(Forbidden):
        service.update_macro(session, people.agent.actor, shared, changes=MacroUpdate(title="Mine now"))
    with db.write() as session, pytest.raises(Forbidden):
        service.delete_macro(session, people.agent.actor, shared)
    own = create(db, people.agent.actor, title="Own")
    with db.write() as session, pytest.raises(Forbidden):
        service.update_macro(session, people.agent.actor, own, changes=MacroUpdate(scope="everyone"))
    with db.write() as session:
        service.update_macro(session, people.agent.actor, own, changes=MacroUpdate(title="Renamed", active=False))
    # An admin makes a shared macro personal: it becomes the admin's own.
    with db.write() as session:
        macro = service.update_macro(session, people.admin.actor, shared, changes=MacroUpdate(scope="personal"))
        assert (macro.owner_id, macro.team_id) == (people.admin.user_id, None)
    with db.write() as session:
        service.delete_macro(session, people.agent.actor, own)
    assert titles(db, people.agent.actor, "all") == set()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "team"}, "team_id"),
        ({"scope": "team", "team_id": 999_999}, "team_id"),
        ({"team_id": 1}, "team_id"),
        ({"body": "", "actions": {}}, "body"),
        ({"actions": {"team_id": 999_999}}, "actions.team_id"),
        ({"actions": {"assignee": 999_999}}, "actions.assignee"),
    ],
)
def test_rules_needing_the_database_name_the_field(
    db: Database, people: Personas, fields: dict[str, Any], field: str
) -> None:
    with db.write() as session, pytest.raises(Invalid) as refused:
        data = MacroCreate.model_validate({"title": "x", "body": "y", **fields})
        service.create_macro(session, people.admin.actor, data=data)
    assert refused.value.details[0]["field"] == field


def test_applying_renders_and_changes_the_ticket_through_events(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(
        db, people.agent.actor, customer={"email": "ivan@example.com", "name": "Иван Петров"}, team_id=people.team_a
    )
    macro_id = create(
        db,
        people.agent.actor,
        actions={"status": "pending", "priority": "high", "add_tags": ["Delivery"], "assignee": "me"},
    )
    with db.write() as session:
        applied = service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=macro_id)
        number = applied.ticket.number
        assert applied.message is None and applied.rendered.missing == ()
        assert applied.rendered.text == (f"Здравствуйте, Иван! Заказ по обращению #{number} в пути. — Agent")
        assert (applied.ticket.status, applied.ticket.priority) == ("pending", "high")
        assert applied.ticket.assignee_id == people.agent.user_id
    kinds = [(kind, actor) for kind, _data, _type, actor in events_of(db, ticket_id)]
    assert kinds[1:] == [
        ("macro_applied", people.agent.user_id),
        ("assigned", people.agent.user_id),
        ("status_changed", people.agent.user_id),  # assigning opens a new ticket
        ("status_changed", people.agent.user_id),
        ("priority_changed", people.agent.user_id),
        ("tags_changed", people.agent.user_id),
    ]
    assert events_of(db, ticket_id)[1][1] == {"macro_id": macro_id}
    with db.read() as session:
        macro = service.get_macro(session, people.agent.actor, macro_id)
        assert macro.usage_count == 1 and macro.last_used_at is not None


def test_posting_sends_the_reply_with_the_macros_status(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    macro_id = create(db, people.agent.actor, body="Hi {{customer.first_name}}", actions={"status": "solved"})
    with db.write() as session:
        applied = service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=macro_id, post=True)
        assert applied.message is not None and applied.message.body_text == "Hi Walk-in"
        assert applied.ticket.status == "solved"
    assert [k for k, *_ in events_of(db, ticket_id)] == ["created", "macro_applied", "reply_sent", "status_changed"]


def test_the_composer_sends_its_own_text_with_the_macros_actions(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    macro_id = create(db, people.agent.actor, kind="note", actions={"add_tags": ["vip"], "status": "on_hold"})
    with db.write() as session:
        message = MessageCreate(body="Edited by the agent", kind="note")
        posted = service.post_with_macro(
            session, people.agent.actor, ticket_id=ticket_id, macro_id=macro_id, message=message
        )
        assert posted.message.kind == "note" and posted.message.body_text == "Edited by the agent"
        assert posted.ticket.status == "on_hold" and [t.name for t in posted.ticket.tags] == ["vip"]


def test_a_refused_action_leaves_nothing_written(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    # The macro moves the ticket to a team the agent applying it is not on, then assigns it to them.
    macro_id = create(db, people.admin.actor, scope="everyone", actions={"team_id": people.team_b, "assignee": "me"})
    before = events_of(db, ticket_id)
    with pytest.raises(Invalid) as refused, db.write() as session:
        service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=macro_id, post=True)
    assert refused.value.details[0]["field"] == "assignee_id"
    assert events_of(db, ticket_id) == before
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Message.ticket_id == ticket_id)) == 1
        assert service.get_macro(session, people.admin.actor, macro_id).usage_count == 0


def test_light_agents_apply_only_plain_note_macros_and_customers_nothing(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    reply = create(db, people.admin.actor, title="Reply", scope="team", team_id=people.team_a)
    note_with_action = create(
        db,
        people.admin.actor,
        title="Note+",
        kind="note",
        scope="team",
        team_id=people.team_a,
        actions={"add_tags": ["x"]},
    )
    plain_note = create(db, people.admin.actor, title="Note", kind="note", scope="team", team_id=people.team_a)
    for macro_id in (reply, note_with_action):
        with db.write() as session, pytest.raises(Forbidden):
            service.apply_macro(session, people.light_agent.actor, ticket_id=ticket_id, macro_id=macro_id)
    with db.write() as session:
        applied = service.apply_macro(
            session, people.light_agent.actor, ticket_id=ticket_id, macro_id=plain_note, post=True
        )
        assert applied.message is not None and applied.message.kind == "note"
    with db.read() as session:
        offered = service.suggest(session, people.light_agent.actor, ticket_id=ticket_id)
        assert [s.macro.title for s in offered] == ["Note"]
    with db.write() as session, pytest.raises(Forbidden):
        service.apply_macro(session, people.customer.actor, ticket_id=ticket_id, macro_id=plain_note)


def test_switched_off_and_unseen_macros_cannot_be_applied(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    off = create(db, people.agent.actor, active=False)
    someone_elses = create(db, people.colleague.actor)
    with db.write() as session, pytest.raises(Conflict):
        service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=off)
    with db.write() as session, pytest.raises(NotFound):
        service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=someone_elses)


def test_a_rule_applies_a_macro_as_the_system(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, assignee_id=people.colleague.user_id)
    macro_id = create(db, people.admin.actor, scope="everyone", body="— {{agent.name}}", actions={"priority": "low"})
    with db.write() as session:
        applied = service.apply_macro(session, Actor.system("rules"), ticket_id=ticket_id, macro_id=macro_id)
        assert applied.rendered.text == "— Colleague" and applied.ticket.priority == "low"
    assert events_of(db, ticket_id)[-2][:3] == ("macro_applied", {"macro_id": macro_id}, "system")
    me_macro = create(db, people.admin.actor, scope="everyone", title="Take", actions={"assignee": "me"})
    with db.write() as session, pytest.raises(Invalid):
        service.apply_macro(session, Actor.system("rules"), ticket_id=ticket_id, macro_id=me_macro)


def test_search_matches_title_then_body_ranked_and_rendered(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, customer={"email": "olga@example.com", "name": "Ольга"})
    create(db, people.agent.actor, title="Возврат денег", body="{{customer.first_name}}, деньги вернутся")
    create(db, people.agent.actor, title="Доставка задерживается", body="Про возврат напишем позже")
    create(db, people.agent.actor, title="Refund approved", body="Hi {{customer.name}}, refund is on its way")
    create(db, people.agent.actor, title="Off", body="возврат", active=False)
    with db.read() as session:

        def found(q: str) -> list[str]:
            return [s.macro.title for s in service.suggest(session, people.agent.actor, ticket_id=ticket_id, q=q)]

        assert found("ВОЗВРАТ") == ["Возврат денег", "Доставка задерживается"]
        assert found("refund") == ["Refund approved"]
        assert found("нет такого") == []
        assert len(found("")) == 3
        first = service.suggest(session, people.agent.actor, ticket_id=ticket_id, q="возв")[0]
        assert first.rendered.text == "Ольга, деньги вернутся"


def test_demo_macros_are_seeded_once(db: Database) -> None:
    from okno.demo import seed
    from okno.demo.macros import MACROS, seed_macros

    with db.write() as session:
        seed._setup(session)
        assert seed_macros(session) == len(MACROS)
    with db.write() as session:
        assert seed_macros(session) == 0
        assert len(service.list_macros(session, Actor.system("tests"), scope="all")) == len(MACROS)


def test_lists_sort_by_title_usage_or_last_use(db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    first, second, _never = (create(db, people.agent.actor, title=t) for t in ("B often", "C once", "A never"))
    for macro_id in (first, second, first):
        with db.write() as session:
            service.apply_macro(session, people.agent.actor, ticket_id=ticket_id, macro_id=macro_id)
    with db.read() as session:

        def order(sort: str) -> list[str]:
            return [m.title for m in service.list_macros(session, people.agent.actor, sort=sort)]

        assert order("title") == ["A never", "B often", "C once"]
        assert order("usage") == ["B often", "C once", "A never"]
        assert order("recent")[-1] == "A never"
        with pytest.raises(Invalid):
            order("colour")


def test_light_agents_keep_only_plain_note_macros(db: Database, people: Personas) -> None:
    light = people.light_agent.actor
    for fields in ({"kind": "reply"}, {"kind": "note", "actions": {"add_tags": ["x"]}}):
        with db.write() as session, pytest.raises(Invalid) as refused:
            service.create_macro(session, light, data=MacroCreate.model_validate({"title": "t", "body": "b", **fields}))
        assert refused.value.details[0]["field"] == "kind"
    create(db, light, kind="note")
