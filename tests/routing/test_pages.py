"""The routing pages and a routed ticket's timeline, over HTTP as a browser uses them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from okno.accounts import presence
from okno.accounts.models import PresenceStatus, Role
from okno.db import Database
from okno.routing import profiles
from okno.routing.schemas import TeamRoutingUpdate
from okno.runtime import Runtime
from tests.factories.personas import Personas, make_person
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in


def test_an_admin_sets_a_team_policy_and_an_agents_capacity(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    listed = client.get("/admin/routing", headers=HTML)
    assert listed.status_code == 200 and "Support" in listed.text and "Manual" in listed.text
    page = client.get(f"/admin/routing/teams/{people.team_a}", headers=HTML)
    assert "Agents and their load" in page.text and "Agent" in page.text and "0 of 3" in page.text
    token = csrf(page.text)
    saved = client.post(
        f"/admin/routing/teams/{people.team_a}",
        data={"policy": "least_loaded", "skill_match": "strict", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    again = client.get(saved.headers["location"], headers=HTML).text
    assert "Saved." in again and 'value="least_loaded" checked' in again and 'value="strict" checked' in again
    forged = client.post(f"/admin/routing/teams/{people.team_a}", data={"policy": "manual"})
    assert forged.status_code == 403

    user_page = client.get(f"/admin/users/{people.agent.user_id}", headers=HTML).text
    assert f'href="/admin/routing/agents/{people.agent.user_id}"' in user_page
    agent_page = client.get(f"/admin/routing/agents/{people.agent.user_id}", headers=HTML)
    assert 'placeholder="3"' in agent_page.text and "Available for routing" in agent_page.text
    form = {f"capacity_{ch}": "" for ch in ("chat", "email", "web", "portal", "api", "phone", "other")}
    refused = client.post(
        f"/admin/routing/agents/{people.agent.user_id}",
        data={**form, "capacity_chat": "lots", "csrf_token": token},
    )
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text and 'value="lots"' in refused.text
    done = client.post(
        f"/admin/routing/agents/{people.agent.user_id}",
        data={**form, "capacity_chat": "5", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert 'value="5"' in client.get(done.headers["location"], headers=HTML).text
    team = client.get(f"/admin/routing/teams/{people.team_a}", headers=HTML).text
    assert "0 of 5" in team


def test_supervisors_look_agents_may_not(client: TestClient, db: Database, people: Personas) -> None:
    boss = make_person(db, email="boss@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    set_password(db, boss.user_id)
    sign_in(client, boss.email)
    page = client.get(f"/admin/routing/teams/{people.team_a}", headers=HTML)
    assert page.status_code == 200 and '<fieldset class="choices" disabled>' in page.text
    token = csrf(page.text)
    refused = client.post(
        f"/admin/routing/teams/{people.team_a}", data={"policy": "manual", "skill_match": "prefer", "csrf_token": token}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    assert client.get("/admin/routing", headers=HTML).status_code == 403


def test_the_timeline_says_why_routing_chose_the_agent(
    client: TestClient, db: Database, runtime: Runtime, people: Personas
) -> None:
    set_password(db, people.agent.user_id, locale="ru")
    with db.write() as session:
        changes = TeamRoutingUpdate(policy="least_loaded")  # type: ignore[arg-type]
        profiles.update_team(session, people.admin.actor, people.team_a, changes=changes)
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    ticket_id = make_ticket(db, people.admin.actor, team_id=people.team_a, channel="chat")
    runtime.worker.run_pending()
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Маршрутизация назначила" in page and "Наименее загруженный" in page
    assert "выбран" in page and "не в сети" in page  # the agent chosen, the offline colleague
    assert "0 из 3 открытых в канале Чат" in page


def test_a_chat_handed_back_says_so_on_the_timeline(
    client: TestClient, db: Database, runtime: Runtime, people: Personas
) -> None:
    from datetime import timedelta

    from okno.routing.service import return_unanswered

    set_password(db, people.colleague.user_id)
    with db.write() as session:
        profiles.update_team(
            session, people.admin.actor, people.team_a, changes=TeamRoutingUpdate(policy="least_loaded")
        )  # type: ignore[arg-type]
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    ticket_id = make_ticket(db, people.admin.actor, team_id=people.team_a, channel="chat")
    runtime.worker.run_pending()
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.away)
    runtime.db.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    with db.write() as session:
        assert return_unanswered(session) == {people.agent.user_id: [ticket_id]}
    sign_in(client, people.colleague.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Back to the queue: Agent was away longer than the grace period" in page
