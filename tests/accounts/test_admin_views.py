"""The admin pages for people and teams, and the invitation a new colleague opens."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from okno.accounts.models import Role
from okno.clock import FrozenClock
from okno.db import Database
from tests.factories.personas import Personas, make_person
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in

API = "/api/v1"


def as_admin(client: TestClient, db: Database, people: Personas) -> str:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    return csrf(client.get("/admin/users", headers=HTML).text)


def invite(client: TestClient, token: str, **fields: object) -> str:
    """Invites someone and returns the link's path, as the admin would copy it."""
    form = {"email": "nina@okno.example.com", "name": "Nina", "role": "agent", "csrf_token": token, **fields}
    page = client.post("/admin/users", data=form, headers=HTML)
    assert page.status_code == 200, page.text
    link = re.search(r'id="invitation-link" readonly value="http://testserver(/invite/[^"]+)"', page.text)
    assert link, page.text
    return link.group(1)


def test_every_admin_page_renders_for_an_admin(client: TestClient, db: Database, people: Personas) -> None:
    as_admin(client, db, people)
    inbox = client.get("/inbox", headers=HTML).text
    assert '<a href="/admin/users"' in inbox and ">Admin</a>" in inbox
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/users"
    pages = {
        "/admin/users": ["Users", "agent@okno.example.com", "Invite a user"],
        "/admin/users?show=deactivated": ["No deactivated accounts."],
        "/admin/users/new": ["Invite a user", "Okno does not send email yet"],
        f"/admin/users/{people.agent.user_id}": ["Deactivate", "Support"],
        "/admin/teams": ["Support", "Billing", "New team"],
        f"/admin/teams/{people.team_a}": ["Members", "Delete team"],
    }
    for path, texts in pages.items():
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        for text in texts:
            assert text in page.text, (path, text)
    nav = client.get("/admin/users", headers=HTML).text
    assert all(f'href="/admin/{s}"' in nav for s in ("users", "teams", "tags", "custom-fields", "macros"))


def test_agents_are_refused_and_supervisors_only_look(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    assert ">Admin</a>" not in client.get("/inbox", headers=HTML).text
    token = csrf(client.get("/inbox", headers=HTML).text)
    for path in ("/admin", "/admin/users", "/admin/users/new", f"/admin/users/{people.agent.user_id}", "/admin/teams"):
        refused = client.get(path, headers=HTML)
        assert refused.status_code == 403 and "Not allowed" in refused.text, path
    posted = client.post("/admin/teams", data={"name": "Mine", "csrf_token": token}, headers=HTML)
    assert posted.status_code == 403
    made = client.post(f"/admin/users/{people.agent.user_id}", data={"role": "admin", "csrf_token": token})
    assert made.status_code == 403

    boss = make_person(db, email="boss@okno.example.com", role=Role.supervisor, team_ids=[people.team_a])
    set_password(db, boss.user_id)
    supervisor = TestClient(client.app)
    sign_in(supervisor, boss.email)
    users = supervisor.get("/admin/users", headers=HTML)
    assert users.status_code == 200 and "agent@okno.example.com" in users.text
    assert "Invite a user" not in users.text and "only administrators can change people" in users.text
    assert 'href="/admin/tags"' not in users.text
    assert supervisor.get("/admin/teams", headers=HTML).status_code == 200
    for path in ("/admin/users/new", f"/admin/users/{people.agent.user_id}", f"/admin/teams/{people.team_a}"):
        assert supervisor.get(path, headers=HTML).status_code == 403, path


def test_an_invited_colleague_sets_a_password_once(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    link = invite(client, token, team_ids=[str(people.team_a)], languages="RU, en", skills="billing")
    users = client.get("/admin/users", headers=HTML).text
    assert "Nina" in users and "Invited" in users and "Russian" in users

    newcomer = TestClient(client.app)
    form = newcomer.get(link, headers=HTML)
    assert form.status_code == 200 and "Hello, Nina!" in form.text and "nina@okno.example.com" in form.text
    pre = csrf(form.text)
    differ = newcomer.post(link, data={"password": "long-enough-1", "password_again": "other-1", "csrf_token": pre})
    assert differ.status_code == 422 and "The two passwords differ." in differ.text
    short = newcomer.post(link, data={"password": "short", "password_again": "short", "csrf_token": pre})
    assert short.status_code == 422 and "Use at least 10 characters." in short.text
    forged = newcomer.post(link, data={"password": "long-enough-1", "password_again": "long-enough-1"}, headers=HTML)
    assert forged.status_code == 403

    done = newcomer.post(
        link,
        data={"password": "long-enough-1", "password_again": "long-enough-1", "csrf_token": pre},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert "okno_session=" in done.headers["set-cookie"] and "HttpOnly" in done.headers["set-cookie"]
    inbox = newcomer.get("/inbox", headers=HTML)
    assert inbox.status_code == 200 and "Nina" in inbox.text

    intruder = TestClient(client.app)
    again = intruder.get(link, headers=HTML)
    assert again.status_code == 410 and "already used" in again.text
    reused = intruder.post(
        link,
        data={
            "password": "taking-over-1",
            "password_again": "taking-over-1",
            "csrf_token": csrf(intruder.get("/sign-in", headers=HTML).text),
        },
    )
    assert reused.status_code == 410 and "okno_session" not in reused.headers.get("set-cookie", "")
    signed = TestClient(client.app)
    sign_in(signed, "nina@okno.example.com", "long-enough-1")
    me = client.get(f"{API}/users", headers={"Authorization": f"Bearer {people.admin.token}"}).json()
    nina = next(u for u in me if u["email"] == "nina@okno.example.com")
    assert nina["languages"] == ["ru", "en"] and nina["skills"] == ["billing"] and nina["teams"][0]["name"] == "Support"
    assert "Invited" not in client.get("/admin/users", headers=HTML).text


def test_an_expired_link_is_refused_and_a_new_one_replaces_it(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    token = as_admin(client, db, people)
    link = invite(client, token)
    clock.advance(timedelta(days=7, seconds=1))
    newcomer = TestClient(client.app)
    expired = newcomer.get(link, headers=HTML)
    assert expired.status_code == 410 and "This invitation link has expired." in expired.text
    token_before = csrf(newcomer.get("/sign-in", headers=HTML).text)
    tried = newcomer.post(
        link, data={"password": "long-enough-1", "password_again": "long-enough-1", "csrf_token": token_before}
    )
    assert tried.status_code == 410
    sign_in(client, people.admin.email)  # a week later the admin's session has ended too
    users = client.get("/admin/users", headers=HTML).text
    token = csrf(users)
    assert "Invitation expired" in users
    nina_id = re.search(r'data-user-id="(\d+)">\s*<td class="subject"><a href="/admin/users/\d+">Nina', users)
    assert nina_id
    fresh = client.post(f"/admin/users/{nina_id.group(1)}/invitation", data={"csrf_token": token}, headers=HTML)
    assert fresh.status_code == 200 and "The link works once" in fresh.text
    new_link = re.search(r'value="http://testserver(/invite/[^"]+)"', fresh.text)
    assert new_link and new_link.group(1) != link
    assert newcomer.get(link, headers=HTML).status_code == 404  # replaced
    assert newcomer.get(new_link.group(1), headers=HTML).status_code == 200


def test_people_made_without_a_password_get_a_link(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    made = client.post(
        f"{API}/users", json={"email": "kim@okno.example.com", "name": "Kim"}, headers=people.admin.headers
    )
    kim = made.json()["id"]
    assert "No password yet" in client.get(f"/admin/users/{kim}", headers=HTML).text
    page = client.post(f"/admin/users/{kim}/invitation", data={"csrf_token": token}, headers=HTML)
    link = re.search(r'value="http://testserver(/invite/[^"]+)"', page.text)
    assert link
    client.patch(f"{API}/users/{kim}", json={"password": "set-by-admin-1"}, headers=people.admin.headers)
    assert TestClient(client.app).get(link.group(1), headers=HTML).status_code == 410  # spent: a password exists
    again = client.post(f"/admin/users/{kim}/invitation", data={"csrf_token": token}, headers=HTML)
    assert again.status_code == 409 and "already set a password" in again.text


def test_invitation_form_errors_sit_next_to_their_fields(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    bad = client.post(
        "/admin/users",
        data={"email": "not-an-address", "name": " ", "role": "agent", "languages": "english", "csrf_token": token},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert 'id="email-error">Enter a valid email address.' in bad.text
    assert 'id="languages-error">Use language codes' in bad.text and 'value="english"' in bad.text
    taken = client.post(
        "/admin/users", data={"email": people.agent.email, "name": "Again", "role": "agent", "csrf_token": token}
    )
    assert taken.status_code == 422 and "A user with this email address already exists." in taken.text
    customer = client.post(
        "/admin/users", data={"email": "c@example.com", "name": "C", "role": "customer", "csrf_token": token}
    )
    assert customer.status_code == 422 and 'id="role-error"' in customer.text


def test_editing_and_deactivating_hands_tickets_back(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
    page = f"/admin/users/{people.agent.user_id}"
    edited = client.post(
        page,
        data={
            "name": "Agata",
            "role": "supervisor",
            "team_ids": [str(people.team_a), str(people.team_b)],
            "languages": "en, de",
            "skills": "api",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303 and edited.headers["location"] == f"{page}?done=saved"
    shown = client.get(edited.headers["location"], headers=HTML).text
    assert "Saved." in shown and 'value="Agata"' in shown and 'value="en, de"' in shown
    wrong = client.post(page, data={"name": "Agata", "role": "agent", "languages": "e1", "csrf_token": token})
    assert wrong.status_code == 422 and 'id="languages-error">Use language codes' in wrong.text
    assert 'aria-describedby="languages-hint languages-error" aria-invalid="true"' in wrong.text

    gone = client.post(f"{page}/deactivate", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    after = client.get(gone.headers["location"], headers=HTML).text
    assert "1 open ticket went back to its team." in after and "Reactivate" in after
    admin = {"Authorization": f"Bearer {people.admin.token}"}
    ticket = client.get(f"{API}/tickets/{ticket_id}", headers=admin).json()
    assert ticket["assignee_id"] is None and ticket["team_id"] == people.team_a
    assert client.get(f"{API}/users/me", headers=people.agent.headers).status_code == 401
    assert "Agata" not in client.get("/admin/users", headers=HTML).text
    assert "Agata" in client.get("/admin/users?show=deactivated", headers=HTML).text

    back = client.post(f"{page}/reactivate", data={"csrf_token": token}, follow_redirects=False)
    assert back.status_code == 303 and "active again" in client.get(back.headers["location"], headers=HTML).text


def test_the_last_administrator_stays(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    mine = f"/admin/users/{people.admin.user_id}"
    demote = client.post(mine, data={"name": "Admin", "role": "agent", "csrf_token": token})
    assert demote.status_code == 422 and "This is the last active administrator." in demote.text
    page = client.get(mine, headers=HTML).text
    assert "You cannot deactivate your own account." in page and "disabled" in page
    self_off = client.post(f"{mine}/deactivate", data={"csrf_token": token})
    assert self_off.status_code == 409 and "You cannot deactivate your own account." in self_off.text

    second = make_person(db, email="second@okno.example.com", role=Role.admin)
    admin = {"Authorization": f"Bearer {second.token}"}
    refused = client.patch(f"{API}/users/{people.admin.user_id}", json={"role": "agent"}, headers=admin)
    assert refused.status_code == 200  # two admins: one may step down
    back = client.patch(f"{API}/users/{people.admin.user_id}", json={"role": "admin"}, headers=admin)
    assert back.status_code == 200
    client.post(mine, data={"name": "Admin", "role": "agent", "csrf_token": token}, follow_redirects=False)
    last = client.delete(f"{API}/users/{second.user_id}", headers={"Authorization": f"Bearer {people.admin.token}"})
    assert last.status_code == 403  # no longer an administrator
    alone = client.patch(f"{API}/users/{second.user_id}", json={"role": "agent"}, headers=admin)
    assert alone.status_code == 409 and alone.json()["error"]["code"] == "last_admin"


def test_teams_are_created_edited_and_deleted(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    empty = client.post("/admin/teams", data={"name": " ", "csrf_token": token})
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    taken = client.post("/admin/teams", data={"name": "Billing", "csrf_token": token})
    assert taken.status_code == 422 and "A team with this name already exists." in taken.text
    made = client.post(
        "/admin/teams",
        data={"name": "Returns", "description": "Parcels back", "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    team_page = made.headers["location"].split("?")[0]
    assert "Now choose its members." in client.get(made.headers["location"], headers=HTML).text
    members = client.post(
        f"{team_page}/members",
        data={"user_ids": [str(people.agent.user_id), str(people.colleague.user_id)], "csrf_token": token},
        follow_redirects=False,
    )
    assert members.status_code == 303
    listing = client.get("/admin/teams", headers=HTML).text
    assert "2 members" in listing and "Agent, Colleague" in listing
    outsider = client.post(
        f"{team_page}/members", data={"user_ids": [str(people.customer.user_id)], "csrf_token": token}
    )
    assert outsider.status_code == 422 and "Choose members from the list of active staff." in outsider.text
    renamed = client.post(team_page, data={"name": "Support", "csrf_token": token})
    assert renamed.status_code == 422 and "already exists" in renamed.text
    client.post(team_page, data={"name": "Returns & refunds", "csrf_token": token})
    assert "Returns &amp; refunds" in client.get("/admin/teams", headers=HTML).text

    make_ticket(db, people.agent.actor, team_id=people.team_a)
    refused = client.post(f"/admin/teams/{people.team_a}/delete", data={"csrf_token": token})
    assert refused.status_code == 409 and "This team still has tickets." in refused.text
    deleted = client.post(f"{team_page}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert deleted.headers["location"] == "/admin/teams?done=deleted"
    assert "Returns" not in client.get("/admin/teams", headers=HTML).text


def test_the_admin_pages_speak_russian(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.admin.user_id, locale="ru")
    sign_in(client, people.admin.email)
    users = client.get("/admin/users", headers=HTML).text
    assert "Пользователи" in users and "Пригласить" in users and "Администрирование" in users
    assert "Команды" in client.get("/admin/teams", headers=HTML).text
