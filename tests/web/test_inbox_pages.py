"""The inbox page over HTTP: the filter bar and sorts, saved views, bulk actions."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from okno.accounts.models import Role
from okno.db import Database
from tests.factories.personas import Personas, make_person
from tests.factories.tickets import make_ticket, update
from tests.web.test_pages import HTML, csrf, set_password, sign_in


def subjects(html: str) -> list[str]:
    return re.findall(r'<td class="subject"><a href="/tickets/\d+">([^<]+)</a>', html)


def count(html: str, key: str) -> str:
    match = re.search(rf'data-view-count="{key}">([^<]*)<', html)
    assert match, f"no count for {key}"
    return match.group(1)


def test_filter_bar_narrows_the_view_and_keeps_the_sort(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    actor = people.agent.actor
    make_ticket(db, actor, subject="Urgent chat", team_id=people.team_a, priority="urgent", channel="chat")
    make_ticket(db, actor, subject="Normal mail", team_id=people.team_a, tags=["refund"])
    make_ticket(db, actor, subject="Other team", team_id=people.team_b, priority="urgent")
    sign_in(client, people.agent.email)
    page = client.get("/inbox?view=my_teams", headers=HTML).text
    assert sorted(subjects(page)) == ["Normal mail", "Urgent chat"]
    urgent = client.get("/inbox?view=my_teams&filtered=1&priority=urgent&sort=priority", headers=HTML).text
    assert subjects(urgent) == ["Urgent chat"] and "1 ticket" in urgent
    assert '<option value="priority" selected>' in urgent and "Save as view" in urgent
    tagged = client.get("/inbox?view=all_open&filtered=1&tag=Refund&channel=api", headers=HTML).text
    assert subjects(tagged) == ["Normal mail"]
    bad = client.get("/inbox?view=my_teams&filtered=1&team=abc&status=nonsense", headers=HTML)
    assert bad.status_code == 200 and "Some filters were not valid and were left out." in bad.text
    assert sorted(subjects(bad.text)) == ["Normal mail", "Urgent chat"]
    empty = client.get("/inbox?view=my_teams&filtered=1&plan=priority", headers=HTML).text
    assert "No tickets match these filters." in empty
    waiting = client.get("/inbox?view=my_teams&sort=waiting", headers=HTML).text
    assert '<option value="waiting" selected>' in waiting and "Waiting" in waiting
    assert client.get("/inbox?view=my_teams&sort=waiting&cursor=bogus", headers=HTML).status_code == 422


def test_pages_keep_filters_and_sort(client: TestClient, db: Database, people: Personas, monkeypatch: object) -> None:
    from okno.tickets import inbox_views

    set_password(db, people.agent.user_id)
    for n in range(5):
        make_ticket(db, people.agent.actor, subject=f"Queue {n}", team_id=people.team_a, priority="high")
    sign_in(client, people.agent.email)
    inbox_views.PAGE_SIZE, old = 2, inbox_views.PAGE_SIZE
    try:
        seen: list[str] = []
        url: str | None = "/inbox?view=my_teams&filtered=1&priority=high&sort=priority"
        while url:
            page = client.get(url.replace("&amp;", "&"), headers=HTML).text
            seen += subjects(page)
            found = re.search(r'<p class="pager"><a href="([^"]+)"', page)
            url = found.group(1) if found else None
            if url:
                assert "priority=high" in url and "sort=priority" in url
    finally:
        inbox_views.PAGE_SIZE = old
    assert sorted(seen) == [f"Queue {n}" for n in range(5)]


def test_save_edit_and_delete_a_view(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    make_ticket(db, people.agent.actor, subject="Urgent one", team_id=people.team_a, priority="urgent")
    make_ticket(db, people.agent.actor, subject="Calm one", team_id=people.team_a)
    sign_in(client, people.agent.email)
    here = "/inbox?" + urlencode([("view", "all_open"), ("filtered", "1"), ("priority", "urgent"), ("sort", "waiting")])
    token = csrf(client.get(here, headers=HTML).text)
    nameless = client.post("/inbox/views", data={"csrf_token": token, "name": " ", "return_to": here})
    assert nameless.status_code == 422
    assert 'id="save-name-error">Give the view a name (up to 80 characters).<' in nameless.text
    assert 'aria-invalid="true" aria-describedby="save-name-error"' in nameless.text
    shared = client.post(
        "/inbox/views", data={"csrf_token": token, "name": "All", "scope": "everyone", "return_to": here}
    )
    assert shared.status_code == 422 and "Only supervisors and admins may share views." in shared.text
    assert client.post("/inbox/views", data={"name": "No token", "return_to": here}).status_code == 403
    saved = client.post(
        "/inbox/views", data={"csrf_token": token, "name": "Urgent", "return_to": here}, follow_redirects=False
    )
    assert saved.status_code == 303
    key = saved.headers["location"].split("view=")[1]
    page = client.get(saved.headers["location"], headers=HTML).text
    assert '<h1 id="view-title">Urgent</h1>' in page and subjects(page) == ["Urgent one"]
    assert count(page, key) == "1" and '<option value="waiting" selected>' in page
    twice = client.post("/inbox/views", data={"csrf_token": token, "name": "urgent", "return_to": here})
    assert twice.status_code == 422 and "You already have a view with this name." in twice.text
    view_id = key.removeprefix("saved-")
    calm = f"/inbox?view={key}&filtered=1&priority=normal"
    edited = client.post(
        f"/inbox/views/{view_id}",
        data={"csrf_token": token, "name": "Calm", "return_to": calm},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    page = client.get(edited.headers["location"], headers=HTML).text
    assert subjects(page) == ["Calm one"] and '<h1 id="view-title">Calm</h1>' in page
    other = make_person(db, email="third@okno.example.com", role=Role.agent, team_ids=[people.team_a])
    assert other  # another agent cannot reach a personal view
    deleted = client.post(f"/inbox/views/{view_id}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert deleted.status_code == 303
    assert client.get(f"/inbox?view={key}", headers=HTML).status_code == 404


def test_supervisor_shares_a_view_with_a_team(client: TestClient, db: Database, people: Personas) -> None:
    sue = make_person(db, email="sue@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    set_password(db, sue.user_id)
    sign_in(client, sue.email)
    token = csrf(client.get("/inbox", headers=HTML).text)
    missing_team = client.post(
        "/inbox/views", data={"csrf_token": token, "name": "Team", "scope": "team", "return_to": "/inbox"}
    )
    assert missing_team.status_code == 422 and 'id="save-team-error">Choose a team' in missing_team.text
    done = client.post(
        "/inbox/views",
        data={"csrf_token": token, "name": "Support queue", "scope": "team", "team": str(people.team_a)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    set_password(db, people.colleague.user_id)
    client.cookies.clear()
    sign_in(client, people.colleague.email)
    page = client.get("/inbox", headers=HTML).text
    assert "Support queue" in page and ">shared<" in page


def test_bulk_assign_to_me_updates_the_counts(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    first = make_ticket(db, people.agent.actor, subject="First", team_id=people.team_a)
    second = make_ticket(db, people.agent.actor, subject="Second", team_id=people.team_a)
    sign_in(client, people.agent.email)
    page = client.get("/inbox?view=unassigned", headers=HTML).text
    assert count(page, "mine") == "0" and count(page, "unassigned") == "2"
    token = csrf(page)
    forged = client.post("/inbox/bulk", data={"ticket_id": [first], "action": "assign:me"})
    assert forged.status_code == 403
    done = client.post(
        "/inbox/bulk",
        data={
            "csrf_token": token,
            "ticket_id": [first, second],
            "action": "assign:me",
            "return_to": "/inbox?view=unassigned",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/inbox?view=unassigned&done=")
    after = client.get(done.headers["location"], headers=HTML).text
    assert "2 tickets changed." in after and count(after, "mine") == "2" and count(after, "unassigned") == "0"
    mine = client.get("/inbox?view=mine", headers=HTML).text
    assert sorted(subjects(mine)) == ["First", "Second"]
    nothing = client.post("/inbox/bulk", data={"csrf_token": token, "action": "assign:me"})
    assert nothing.status_code == 422 and "Select at least one ticket." in nothing.text
    no_action = client.post("/inbox/bulk", data={"csrf_token": token, "ticket_id": [first], "action": "explode"})
    assert no_action.status_code == 422 and "Choose what to change." in no_action.text


def test_bulk_reports_each_ticket_it_could_not_change(client: TestClient, db: Database, people: Personas) -> None:
    agent = people.other_agent  # Billing only, limited to their team
    set_password(db, agent.user_id)
    ok = make_ticket(db, people.admin.actor, subject="Billing question", team_id=people.team_b)
    closed = make_ticket(db, people.admin.actor, subject="Old billing", team_id=people.team_b)
    update(db, people.admin.actor, closed, status="solved")
    update(db, people.admin.actor, closed, status="closed")
    hidden = make_ticket(db, people.admin.actor, subject="Support secret", team_id=people.team_a)
    sign_in(client, agent.email)
    token = csrf(client.get("/inbox", headers=HTML).text)
    done = client.post(
        "/inbox/bulk",
        data={
            "csrf_token": token,
            "ticket_id": [ok, closed, hidden],
            "action": "status:pending",
            "return_to": "/inbox?view=all_open",
        },
    )
    assert done.status_code == 200
    assert "1 ticket changed." in done.text and "2 tickets were not changed:" in done.text
    assert "a ticket that is Closed cannot become Pending" in done.text
    assert "you may not see it, or it no longer exists" in done.text and "Support secret" not in done.text
    with db.read() as session:
        from okno.tickets.models import Ticket

        states = {t.id: t.status for t in session.query(Ticket).filter(Ticket.id.in_([ok, closed, hidden]))}
    assert states == {ok: "pending", closed: "closed", hidden: "new"}
    tagged = client.post(
        "/inbox/bulk",
        data={"csrf_token": token, "ticket_id": [ok], "tag": "vip customer", "add_tag": "1"},
        follow_redirects=False,
    )
    assert tagged.status_code == 303
    assert "vip-customer" in client.get(f"/tickets/{ok}", headers=HTML).text


def test_russian_bulk_report_uses_plural_forms(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id, locale="ru")
    ids = [make_ticket(db, people.agent.actor, subject=f"Вопрос {n}", team_id=people.team_a) for n in range(2)]
    sign_in(client, people.agent.email)
    token = csrf(client.get("/inbox?view=unassigned", headers=HTML).text)
    done = client.post(
        "/inbox/bulk",
        data={"csrf_token": token, "ticket_id": ids, "action": "assign:me", "return_to": "/inbox?view=unassigned"},
    )
    assert "Изменено 2 обращения." in done.text and "Сохранённые представления" not in done.text
    assert "Дольше всех ждут" in done.text and "Сначала новые" in done.text
