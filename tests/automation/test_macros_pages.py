"""The macro pages and the picker's search, over HTTP as a browser uses them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from okno.db import Database
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in

FORM = {
    "title": "Refund approved",
    "body": "Hi {{customer.first_name}}, your refund for #{{ticket.number}} is on its way. {{agent.first_name}}",
    "kind": "reply",
    "scope": "personal",
    "active": "true",
    "action_status": "solved",
    "action_add_tags": "refund, Billing",
}


def api(client: TestClient, people: Personas, path: str) -> object:
    return client.get(path, headers={"Authorization": f"Bearer {people.agent.token}"}).json()


def test_an_agent_creates_edits_and_deletes_a_personal_macro(
    client: TestClient, db: Database, people: Personas
) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    empty = client.get("/macros", headers=HTML)
    assert empty.status_code == 200 and "No macros here yet" in empty.text and 'href="/macros"' in empty.text
    form = client.get("/macros/new", headers=HTML)
    assert "{{customer.first_name}}" in form.text and 'value="everyone"' not in form.text  # agents share nothing
    token = csrf(form.text)
    saved = client.post("/macros", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/macros?saved=1"
    listed = client.get("/macros?saved=1", headers=HTML).text
    assert "Macro saved." in listed and "Refund approved" in listed and "+billing" in listed
    (macro,) = api(client, people, "/api/v1/macros")  # type: ignore[misc]
    assert macro["actions"]["status"] == "solved" and macro["actions"]["add_tags"] == ["billing", "refund"]
    assert macro["actions"]["assignee"] is None and macro["actions"]["remove_tags"] == []
    edit = client.get(f"/macros/{macro['id']}", headers=HTML).text
    assert 'value="Refund approved"' in edit and "refund" in edit
    changed = client.post(
        f"/macros/{macro['id']}", data={**FORM, "title": "Refund sent", "active": "", "csrf_token": token}
    )
    assert changed.status_code == 200 and "Refund sent" in changed.text  # followed to the list
    assert api(client, people, f"/api/v1/macros/{macro['id']}")["active"] is False  # type: ignore[index]
    client.post(f"/macros/{macro['id']}/delete", data={"csrf_token": token})
    assert api(client, people, "/api/v1/macros") == []
    forged = client.post("/macros", data=FORM, headers=HTML)
    assert forged.status_code == 403


def test_refused_fields_are_marked_and_nothing_is_saved(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id, locale="ru")
    sign_in(client, people.agent.email)
    token = csrf(client.get("/macros/new", headers=HTML).text)
    bad = {**FORM, "title": "", "body": "Привет, {{customer.firstname}}", "csrf_token": token}
    refused = client.post("/macros", data=bad)
    assert refused.status_code == 422
    assert 'id="title-error"' in refused.text and 'id="body-error"' in refused.text
    assert (
        "Неизвестные подстановки: {{customer.firstname}}" in refused.text and "{{customer.first_name}}" in refused.text
    )
    assert "Привет, {{customer.firstname}}" in refused.text  # what was typed stays in the form
    shared = client.post("/macros", data={**FORM, "scope": "everyone", "csrf_token": token})
    assert shared.status_code == 422 and 'id="scope-error"' in shared.text
    both = client.post("/macros", data={**FORM, "action_remove_tags": "refund", "csrf_token": token})
    assert both.status_code == 422 and 'id="action_remove_tags-error"' in both.text
    assert api(client, people, "/api/v1/macros?scope=all") == []


def test_agents_cannot_edit_shared_macros_and_admins_reach_them_all(
    client: TestClient, db: Database, people: Personas
) -> None:
    shared = client.post(
        "/api/v1/macros",
        json={"title": "Billing hello", "body": "Hello", "scope": "team", "team_id": people.team_b},
        headers=people.admin.headers,
    ).json()
    set_password(db, people.agent.user_id)
    set_password(db, people.admin.user_id)
    sign_in(client, people.agent.email)
    assert client.get(f"/macros/{shared['id']}", headers=HTML).status_code == 404  # not their team
    client.post("/sign-out", data={"csrf_token": csrf(client.get("/macros", headers=HTML).text)})
    sign_in(client, people.admin.email)
    redirect = client.get("/admin/macros", follow_redirects=False)
    assert redirect.headers["location"] == "/macros?scope=all"
    everything = client.get("/macros?scope=all", headers=HTML).text
    assert "Billing hello" in everything and "Team: Billing" in everything
    assert "Billing hello" not in client.get("/macros", headers=HTML).text  # not on that team


def test_the_picker_finds_renders_and_sends_with_the_actions(
    client: TestClient, db: Database, people: Personas
) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor, customer={"email": "olga@example.com", "name": "Ольга Ким"})
    client.post(
        "/api/v1/macros",
        json={"title": "Refund", "body": FORM["body"], "actions": {"status": "solved", "add_tags": ["refund"]}},
        headers=people.agent.headers,
    )
    client.post("/api/v1/macros", json={"title": "Unrelated", "body": "Bye"}, headers=people.agent.headers)
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert 'id="macro-search"' in page and 'name="macro_id"' in page and "/static/macros.js" in page
    found = client.get(f"/macros/search?ticket_id={ticket_id}&q=REF").json()["items"]
    assert [item["title"] for item in found] == ["Refund"]
    (item,) = found
    number = api(client, people, f"/api/v1/tickets/{ticket_id}")["number"]  # type: ignore[index]
    assert item["text"] == f"Hi Ольга, your refund for #{number} is on its way. Agent"
    assert item["status"] == "solved" and item["actions"] == ["Status: Solved", "+refund"] and item["missing"] == []
    assert client.get("/macros/search?ticket_id=999999&q=").status_code == 404
    token = csrf(page)
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "body": item["text"] + " (edited)",
            "kind": "reply",
            "status": "",
            "macro_id": str(item["id"]),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    ticket = api(client, people, f"/api/v1/tickets/{ticket_id}")
    assert ticket["status"] == "solved" and ticket["tags"] == ["refund"]  # type: ignore[index]
    kinds = [e["kind"] for e in api(client, people, f"/api/v1/tickets/{ticket_id}/events")]  # type: ignore[attr-defined]
    assert kinds == ["created", "macro_applied", "tags_changed", "reply_sent", "status_changed"]
    timeline = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Agent applied the macro “Refund”" in timeline and "(edited)" in timeline
    # A macro the agent may not use is refused next to the composer, and nothing is sent.
    refused = client.post(
        f"/tickets/{ticket_id}/messages",
        data={"body": "Hello", "kind": "reply", "macro_id": "999999", "csrf_token": token},
    )
    assert refused.status_code == 422 and "no such macro" in refused.text


def test_a_macro_without_text_applies_at_once(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor)
    macro = client.post(
        "/api/v1/macros",
        json={"title": "Spam", "body": "", "actions": {"status": "solved", "add_tags": ["spam"]}},
        headers=people.agent.headers,
    ).json()
    sign_in(client, people.agent.email)
    token = csrf(client.get(f"/tickets/{ticket_id}", headers=HTML).text)
    (item,) = client.get(f"/macros/search?ticket_id={ticket_id}&q=spam").json()["items"]
    assert item["text"] == "" and item["actions"] == ["Status: Solved", "+spam"]
    assert client.post(f"/tickets/{ticket_id}/macros/{macro['id']}", data={}).status_code == 403  # no CSRF token
    done = client.post(f"/tickets/{ticket_id}/macros/{macro['id']}", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{ticket_id}"
    ticket = api(client, people, f"/api/v1/tickets/{ticket_id}")
    assert ticket["status"] == "solved" and ticket["tags"] == ["spam"]  # type: ignore[index]
    client.patch(f"/api/v1/macros/{macro['id']}", json={"active": False}, headers=people.agent.headers)
    off = client.post(f"/tickets/{ticket_id}/macros/{macro['id']}", data={"csrf_token": token})
    assert off.status_code == 422 and "switched off" in off.text
