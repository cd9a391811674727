"""Saved inbox views: filters through the permission filter, sharing rules, capped live counts."""

from __future__ import annotations

import pytest

from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.accounts.schemas import TeamCreate
from okno.clock import FrozenClock
from okno.db import Database
from okno.errors import Forbidden, Invalid, NotFound
from okno.tickets import inbox, queries, saved_views
from okno.tickets.models import ViewScope
from okno.tickets.schemas import SavedViewIn
from tests.factories.personas import Person, Personas, make_person
from tests.factories.tickets import make_ticket, update


def save(db: Database, person: Person, **fields: object) -> int:
    with db.write() as session:
        return saved_views.create_view(session, person.actor, data=SavedViewIn.model_validate(fields)).id


def shown(db: Database, person: Person, view_id: int) -> list[str]:
    with db.read() as session:
        view = saved_views.get_view(session, person.actor, view_id)
        filters = saved_views.ticket_filters(person.actor, saved_views.stored_filters(view))
        rows, _cursor = queries.list_tickets(session, person.actor, filters, sort=view.sort, limit=100)
        return sorted(t.subject for t in rows)


def supervisor(db: Database, people: Personas) -> Person:
    return make_person(db, email="sue@okno.example.com", role=Role.supervisor, team_ids=[people.team_a, people.team_b])


def test_filters_combine_status_team_assignee_tag_channel_priority_and_plan(
    db: Database, people: Personas, clock: FrozenClock
) -> None:
    agent = people.agent
    make_ticket(
        db,
        agent.actor,
        subject="urgent chat",
        team_id=people.team_a,
        priority="urgent",
        channel="chat",
        tags=["refund"],
        assignee_id=agent.user_id,
    )
    make_ticket(
        db,
        agent.actor,
        subject="urgent email",
        team_id=people.team_a,
        priority="urgent",
        tags=["refund"],
        assignee_id=agent.user_id,
    )
    make_ticket(
        db,
        agent.actor,
        subject="colleague's",
        team_id=people.team_a,
        priority="urgent",
        channel="chat",
        tags=["refund"],
        assignee_id=people.colleague.user_id,
    )
    make_ticket(db, agent.actor, subject="nobody's", team_id=people.team_a, priority="high", channel="chat")
    make_ticket(db, agent.actor, subject="billing", team_id=people.team_b, priority="low")
    mine = save(
        db,
        agent,
        name="My urgent refunds in chat",
        filters={
            "status": ["open"],
            "assignee": "me",
            "tag": "Refund",
            "channel": "chat",
            "priority": ["urgent", "high"],
            "team_id": people.team_a,
            "customer_plan": "free",
        },
    )
    assert shown(db, agent, mine) == ["urgent chat"]
    nobody = save(
        db, agent, name="Unowned", filters={"assignee": "nobody", "status": ["new", "open"]}, sort="waiting_since"
    )
    assert shown(db, agent, nobody) == ["billing", "nobody's"]
    paying = save(db, agent, name="Paying customers", filters={"customer_plan": "priority"})
    assert shown(db, agent, paying) == []
    # "me" means whoever looks: the colleague sees their own ticket in the same shared filters.
    sue = supervisor(db, people)
    shared_mine = save(
        db, sue, name="Mine, urgent", scope="everyone", filters={"assignee": "me", "priority": ["urgent"]}
    )
    assert shown(db, people.colleague, shared_mine) == ["colleague's"]
    assert shown(db, agent, shared_mine) == ["urgent chat", "urgent email"]


def test_a_shared_view_never_shows_a_limited_agent_another_teams_tickets(
    db: Database, people: Personas, clock: FrozenClock
) -> None:
    make_ticket(db, people.agent.actor, subject="support ticket", team_id=people.team_a)
    make_ticket(db, people.agent.actor, subject="billing ticket", team_id=people.team_b)
    sue = supervisor(db, people)
    everything = save(db, sue, name="Everything open", scope="everyone", filters={"status": ["new", "open"]})
    support_only = save(
        db, sue, name="Support queue", scope="team", team_id=people.team_a, filters={"team_id": people.team_a}
    )
    assert shown(db, sue, everything) == ["billing ticket", "support ticket"]
    assert shown(db, people.other_agent, everything) == ["billing ticket"]
    with db.read() as session:
        listed = [v.name for v in saved_views.list_views(session, people.other_agent.actor)]
        assert listed == ["Everything open"]  # the Support team's view is not theirs
        with pytest.raises(NotFound):
            saved_views.get_view(session, people.other_agent.actor, support_only)
        counts = inbox.CountCache().get(session, people.other_agent.actor, clock.now())
        assert counts[f"saved-{everything}"] == 1 and f"saved-{support_only}" not in counts
    assert shown(db, people.agent, support_only) == ["support ticket"]


def test_sharing_is_for_supervisors_and_admins_and_personal_views_stay_personal(db: Database, people: Personas) -> None:
    with pytest.raises(Forbidden):
        save(db, people.agent, name="For all", scope="everyone")
    sue = supervisor(db, people)
    with db.write() as session:
        team_c = accounts_service.create_team(session, Actor.system("tests"), data=TeamCreate(name="Sales")).id
    with pytest.raises(Forbidden):  # not a team of hers
        save(db, sue, name="Sales", scope="team", team_id=team_c)
    save(db, people.admin, name="Sales", scope="team", team_id=team_c)
    own = save(db, people.agent, name="Mine")
    with db.write() as session, pytest.raises(NotFound):
        saved_views.delete_view(session, people.colleague.actor, own)
    shared = save(db, sue, name="Team view", scope="team", team_id=people.team_a)
    with db.write() as session, pytest.raises(Forbidden):
        saved_views.delete_view(session, people.agent.actor, shared)  # a member sees it, may not remove it
    with db.write() as session:
        saved_views.update_view(
            session,
            people.admin.actor,
            shared,
            data=SavedViewIn(name="Team view, renamed", scope=ViewScope.team, team_id=people.team_a),
        )
        saved_views.delete_view(session, people.agent.actor, own)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Twice"}, "name"),
        ({"name": "Team-less", "scope": "personal", "sort": "subject"}, "sort"),
        ({"name": "Ghost team", "filters": {"team_id": 999_999}}, "filters.team_id"),
        ({"name": "Ghost agent", "filters": {"assignee": "999999"}}, "filters.assignee"),
    ],
)
def test_invalid_views_name_their_field(db: Database, people: Personas, fields: dict[str, object], field: str) -> None:
    save(db, people.agent, name="twice")
    with pytest.raises(Invalid) as refused:
        save(db, people.agent, **fields)
    assert refused.value.details[0]["field"] == field
    with pytest.raises(Invalid) as team_missing:
        save(db, supervisor(db, people), name="Shared", scope="team")
    assert team_missing.value.details[0]["field"] == "team_id"


def test_saved_view_counts_are_capped_cached_and_follow_edits(
    db: Database, people: Personas, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    for n in range(4):
        make_ticket(db, people.agent.actor, subject=f"urgent {n}", priority="urgent", team_id=people.team_a)
    view_id = save(db, people.agent, name="Urgent", filters={"priority": ["urgent"]})
    cache = inbox.CountCache()
    key = f"saved-{view_id}"
    with db.read() as session:
        assert cache.get(session, people.agent.actor, clock.now())[key] == 3  # cap + 1: shown as "2+"
    with db.write() as session:
        view = saved_views.get_view(session, people.agent.actor, view_id)
        saved_views.update_view(
            session,
            people.agent.actor,
            view_id,
            data=SavedViewIn(name=view.name, filters={"priority": ["low"]}),  # type: ignore[arg-type]
        )
    with db.read() as session:
        assert cache.get(session, people.agent.actor, clock.now())[key] == 0  # an edit is counted at once
    update(db, people.agent.actor, make_ticket(db, people.agent.actor), priority="low")
    with db.read() as session:
        assert cache.get(session, people.agent.actor, clock.now())[key] == 0  # cached for a few seconds
        cache.forget(people.agent.user_id)
        assert cache.get(session, people.agent.actor, clock.now())[key] == 1
