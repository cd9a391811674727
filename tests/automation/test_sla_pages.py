"""SLA pages as a browser uses them: the admin list and form, the ticket's clock, the "SLA at risk" view."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from okno.accounts.models import Role
from okno.automation.sla.jobs import SWEEP_JOB
from okno.clock import FrozenClock
from okno.db import Database
from okno.jobs.registry import enqueue
from okno.runtime import Runtime
from tests.factories.personas import Personas, make_person
from tests.factories.sla import make_policy
from tests.factories.tickets import make_ticket, reply
from tests.web.test_pages import HTML, csrf, set_password, sign_in

FORM = {
    "name": "Priority support",
    "enabled": "true",
    "plans": "priority",
    "target-first_response-default": "60",
    "target-first_response-urgent": "15",
    "target-resolution-default": "1440",
    "business_hours": "true",
    "pause_when_pending": "true",
}


def policies(client: TestClient, people: Personas) -> list[dict[str, object]]:
    found: list[dict[str, object]] = client.get("/api/v1/sla-policies", headers=people.admin.headers).json()
    return found


def test_an_admin_creates_edits_orders_and_deletes_policies(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    empty = client.get("/admin/sla", headers=HTML)
    assert empty.status_code == 200 and "No SLA policies yet" in empty.text and 'href="/admin/sla"' in empty.text
    form = client.get("/admin/sla/new", headers=HTML)
    assert 'name="target-next_response-urgent"' in form.text and "Support" in form.text  # a team to choose
    token = csrf(form.text)
    created = client.post("/admin/sla", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303
    (policy,) = policies(client, people)
    assert created.headers["location"] == f"/admin/sla/{policy['id']}?done=created"
    assert policy["conditions"] == {"priorities": [], "plans": ["priority"], "channels": [], "team_ids": []}
    assert policy["targets"]["first_response"]["urgent"] == 15  # type: ignore[index]
    page = client.get(f"/admin/sla/{policy['id']}?done=created", headers=HTML).text
    assert "The policy was created." in page and 'value="15"' in page and 'value="priority" checked' in page
    other = {**FORM, "name": "Everyone else", "plans": "", "csrf_token": token}
    client.post("/admin/sla", data=other)
    listed = client.get("/admin/sla", headers=HTML).text
    assert listed.index("Priority support") < listed.index("Everyone else")
    assert "First response: 1 hr · Urgent 15 min" in listed
    second = policies(client, people)[1]
    client.post(f"/admin/sla/{second['id']}/move", data={"position": "1", "csrf_token": token})
    assert [p["name"] for p in policies(client, people)] == ["Everyone else", "Priority support"]
    saved = client.post(
        f"/admin/sla/{policy['id']}",
        data={**FORM, "enabled": "", "target-resolution-default": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    changed = policies(client, people)[1]
    assert changed["enabled"] is False and changed["targets"]["resolution"]["default"] is None  # type: ignore[index]
    client.post(f"/admin/sla/{policy['id']}/delete", data={"csrf_token": token})
    assert [p["name"] for p in policies(client, people)] == ["Everyone else"]
    assert client.post("/admin/sla", data=FORM, headers=HTML).status_code == 403  # no form token


def test_refused_fields_are_marked_in_the_agents_language_and_nothing_is_saved(
    client: TestClient, db: Database, people: Personas
) -> None:
    set_password(db, people.admin.user_id, locale="ru")
    sign_in(client, people.admin.email)
    token = csrf(client.get("/admin/sla/new", headers=HTML).text)
    bad = {**FORM, "name": "", "target-first_response-urgent": "soon", "csrf_token": token}
    refused = client.post("/admin/sla", data=bad)
    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text and 'id="target-first_response-urgent-error"' in refused.text
    assert "Укажите целое число минут" in refused.text
    assert 'value="soon"' in refused.text  # what was typed stays
    none = {key: value for key, value in FORM.items() if not key.startswith("target-")}
    empty = client.post("/admin/sla", data={**none, "csrf_token": token})
    assert empty.status_code == 422 and 'id="targets-error"' in empty.text
    assert policies(client, people) == []


def test_agents_cannot_open_the_admin_pages(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    assert client.get("/admin/sla", headers=HTML).status_code == 403


def test_the_ticket_page_shows_the_running_targets(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, clock: FrozenClock
) -> None:
    make_policy(db)
    ticket_id = make_ticket(db, people.agent.actor)
    runtime.worker.run_pending()
    clock.advance(timedelta(minutes=20))
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    card = page[page.index('id="sla"') :]
    card = card[: card.index("</section>")]
    assert "Policy: Standard" in card
    assert re.search(r'data-sla-target="first_response">.*?40 min left', card, re.S)
    assert re.search(r'data-sla-target="resolution">.*?7 hr 40 min left', card, re.S)
    clock.advance(timedelta(minutes=45))
    late = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert re.search(
        r'class="sla-target sla-breached" data-sla-target="first_response">.*?breached by 5 min', late, re.S
    )
    reply(db, people.agent.actor, ticket_id, status="pending")
    runtime.worker.run_pending()
    paused = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert re.search(r'data-sla-target="resolution">.*?paused.*?6 hr 55 min left when it resumes', paused, re.S)
    assert "First response target breached" in paused  # the reaction recorded the late answer's breach


def test_the_sla_at_risk_view_lists_breached_and_soon_due_tickets_first(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, clock: FrozenClock
) -> None:
    make_policy(db)
    make_policy(
        db,
        name="Urgent",
        conditions={"priorities": ["urgent"]},
        targets={"first_response": {"default": 15}},
        position=1,
    )
    late = make_ticket(db, people.agent.actor, subject="Late one")
    clock.advance(timedelta(minutes=30))
    urgent = make_ticket(db, people.agent.actor, subject="Urgent one", priority="urgent")
    calm = make_ticket(db, people.agent.actor, subject="Calm one")
    clock.advance(timedelta(minutes=35))  # late: 5 minutes over; urgent: 20 over; calm: 25 left, within the hour
    runtime.worker.run_pending()
    set_password(db, people.agent.user_id, locale="ru")
    sign_in(client, people.agent.email)
    page = client.get("/inbox?view=sla_at_risk", headers=HTML).text
    assert "Под угрозой SLA" in page
    shown = re.findall(r'<td class="subject"><a href="/tickets/(\d+)"', page)
    assert shown == [str(urgent), str(late), str(calm)]
    assert "просрочено на 20 мин" in page and "осталось 25 мин" in page
    assert 'data-view-count="sla_at_risk">3<' in page
    clock.advance(timedelta(hours=2))
    reply(db, people.agent.actor, calm, status="pending")
    runtime.worker.run_pending()
    page = client.get("/inbox?view=sla_at_risk", headers=HTML).text
    assert re.findall(r'<td class="subject"><a href="/tickets/(\d+)"', page) == [str(urgent), str(late)]


def test_warnings_show_on_the_notifications_page(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, clock: FrozenClock
) -> None:
    supervisor = make_person(db, email="sup@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    make_policy(db)
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    runtime.worker.run_pending()
    clock.advance(timedelta(minutes=50))
    with db.write() as session:
        enqueue(session, SWEEP_JOB, {})
    runtime.worker.run_pending()
    set_password(db, supervisor.user_id)
    sign_in(client, supervisor.email)
    page = client.get("/notifications", headers=HTML).text
    assert re.search(r"SLA: First response on #\d+ is due soon", page)
    opened = client.get(re.findall(r'href="(/notifications/\d+)"', page)[0], follow_redirects=False)
    assert opened.headers["location"] == f"/tickets/{ticket_id}"
