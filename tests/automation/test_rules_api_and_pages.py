"""Rules over the REST API and on the admin pages (English and Russian), with the project's error body."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from okno.db import Database
from okno.runtime import Runtime
from tests.factories.personas import Person, Personas
from tests.web.test_pages import HTML, set_password, sign_in

RULE: dict[str, Any] = {
    "name": "Urgent payments",
    "triggers": ["ticket_created", "message_received"],
    "conditions": {"all": [{"field": "subject", "op": "matches", "value": r"не\s+работает\s+оплата"}]},
    "actions": [{"type": "set_priority", "value": "urgent"}, {"type": "add_tags", "value": ["Payments"]}],
}


def test_create_read_change_order_and_delete(client: TestClient, people: Personas) -> None:
    headers = people.admin.headers
    created = client.post("/api/v1/rules", json=RULE, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "trigger" and body["actions"][1]["value"] == ["payments"] and body["active"] is True
    url = f"/api/v1/rules/{body['id']}"
    assert client.get(url, headers=headers).json() == body
    changed = client.patch(url, json={"active": False, "name": "Renamed"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["active"] is False and changed.json()["name"] == "Renamed"
    triggers = [r["id"] for r in client.get("/api/v1/rules?kind=trigger", headers=headers).json()]
    ordered = client.put("/api/v1/rules/order?kind=trigger", json={"rule_ids": triggers[::-1]}, headers=headers)
    assert ordered.status_code == 200 and [r["id"] for r in ordered.json()] == triggers[::-1]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_refusals_name_each_field(client: TestClient, people: Personas) -> None:
    bad = {
        **RULE,
        "conditions": {"all": [{"field": "body", "op": "matches", "value": "(a|aa)+$"}]},
        "actions": [{"type": "set_team", "value": 999999}],
    }
    refused = client.post("/api/v1/rules", json=bad, headers=people.admin.headers)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert [d["field"] for d in error["details"]] == ["conditions.all.0.value"]
    assert "too slow" in error["details"][0]["reason"]
    unknown = client.post("/api/v1/rules", json={**RULE, "colour": "red"}, headers=people.admin.headers)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "validation_error"
    assert client.post("/api/v1/rules", json=RULE, headers=people.agent.headers).status_code == 403
    assert client.get("/api/v1/rules", headers=people.agent.headers).status_code == 403


def test_dry_run_over_the_api(client: TestClient, people: Personas) -> None:
    for subject in ("Не работает оплата картой", "Where is my order?"):
        ticket = {"subject": subject, "customer": {"email": "ivan@example.com"}, "message": {"body": "…"}}
        assert client.post("/api/v1/tickets", json=ticket, headers=people.agent.headers).status_code == 201
    result = client.post(
        "/api/v1/rules/dry-run", json={"conditions": RULE["conditions"], "last": 10}, headers=people.admin.headers
    )
    assert result.status_code == 200, result.text
    assert result.json()["examined"] == 2
    assert [m["subject"] for m in result.json()["matched"]] == ["Не работает оплата картой"]
    saved = client.post("/api/v1/rules", json=RULE, headers=people.admin.headers).json()
    again = client.get(f"/api/v1/rules/{saved['id']}/dry-run?last=1", headers=people.admin.headers).json()
    assert again["rule_id"] == saved["id"] and again["examined"] == 1 and again["matched"] == []


def test_macros_are_applied_through_the_api(client: TestClient, people: Personas) -> None:
    macro = {"title": "Escalate", "body": "", "scope": "everyone", "actions": {"priority": "high"}}
    made = client.post("/api/v1/macros", json=macro, headers=people.admin.headers).json()
    ticket = {"subject": "Help", "customer": {"email": "ivan@example.com"}, "message": {"body": "…"}}
    ticket_id = client.post("/api/v1/tickets", json=ticket, headers=people.agent.headers).json()["id"]
    applied = client.post(f"/api/v1/tickets/{ticket_id}/macros/{made['id']}", headers=people.agent.headers)
    assert applied.status_code == 200 and applied.json()["ticket"]["priority"] == "high"


def page_sign_in(client: TestClient, db: Database, person: Person, **changes: object) -> str:
    set_password(db, person.user_id, **changes)
    sign_in(client, person.email)
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/inbox", headers=HTML).text)
    assert found is not None
    return found.group(1)


def test_the_admin_page_lists_edits_and_dry_runs_rules(client: TestClient, db: Database, people: Personas) -> None:
    token = page_sign_in(client, db, people.admin)
    listing = client.get("/admin/rules", headers=HTML)
    assert listing.status_code == 200
    assert (
        "Acknowledge new email tickets" in listing.text and "Remind the customer after 3 days pending" in listing.text
    )
    assert "Pending for 3 days" in listing.text
    form = {
        "csrf_token": token,
        "name": "Refunds",
        "active": "on",
        "trigger": "ticket_created",
        "any.0.kind": "subject",
        "any.0.op": "contains_any",
        "any.0.value": "refund, возврат",
        "any.7.kind": "body",
        "any.7.op": "matches",
        "any.7.value": "(a|aa)+$",
        "action.0.kind": "add_tags",
        "action.0.value": "refund",
    }
    refused = client.post("/admin/rules?kind=trigger", data=form)
    assert refused.status_code == 422
    # The second row (posted as 7) is the one refused, shown next to it; the form keeps what was typed.
    assert 'id="row-any-1"' in refused.text and "too slow" in refused.text and "refund, возврат" in refused.text
    form["any.7.value"] = r"верн\w+ деньги"
    saved = client.post("/admin/rules?kind=trigger", data=form, follow_redirects=False)
    assert saved.status_code == 303
    rule_url = saved.headers["location"].split("?")[0]
    editor = client.get(rule_url, headers=HTML)
    assert editor.status_code == 200 and "верн\\w+ деньги" in editor.text and "htmx.min.js" in editor.text
    row = client.get("/admin/rules/condition-row?group=all&n=5&all.5.kind=priority")
    assert 'name="all.5.op"' in row.text and 'value="changed_to"' in row.text and 'value="urgent"' in row.text
    action = client.get("/admin/rules/action-row?n=3&action.3.kind=send_reply")
    assert 'name="action.3.extra"' in action.text
    ticket = {"subject": "Хочу возврат", "customer": {"email": "ivan@example.com"}, "message": {"body": "…"}}
    client.post("/api/v1/tickets", json=ticket, headers=people.agent.headers)
    tried = client.post("/admin/rules/dry-run", data={**form, "last": "50"})
    assert tried.status_code == 200 and "Хочу возврат" in tried.text
    rule_id = rule_url.rsplit("/", 1)[1]
    assert (
        client.post(f"/admin/rules/{rule_id}/active", data={"csrf_token": token, "active": "false"}).status_code == 200
    )
    assert client.post(f"/admin/rules/{rule_id}/move", data={"csrf_token": token, "to": "up"}).status_code == 200
    assert client.post(f"/admin/rules/{rule_id}/delete", data={"csrf_token": token}).status_code == 200
    assert client.get(rule_url, headers=HTML).status_code == 404


def test_the_pages_in_russian_and_for_agents(client: TestClient, db: Database, people: Personas) -> None:
    page_sign_in(client, db, people.admin, locale="ru")
    listing = client.get("/admin/rules", headers=HTML)
    assert "Правила" in listing.text and "Новый триггер" in listing.text
    assert "Подтверждать получение новых писем" not in listing.text  # rule names are the admins' own words
    editor = client.get("/admin/rules/new?kind=timed", headers=HTML)
    assert "Ждёт ответа агента" in editor.text
    client.cookies.clear()
    page_sign_in(client, db, people.agent)
    assert client.get("/admin/rules", headers=HTML).status_code == 403


def test_the_timeline_names_the_rule_and_a_notification_says_which_rule(
    client: TestClient, db: Database, people: Personas, runtime: Runtime
) -> None:
    rule = {**RULE, "actions": [*RULE["actions"], {"type": "notify_supervisors"}]}
    assert client.post("/api/v1/rules", json=rule, headers=people.admin.headers).status_code == 201
    ticket = {"subject": "Не работает оплата", "customer": {"email": "ivan@example.com"}, "message": {"body": "…"}}
    ticket_id = client.post("/api/v1/tickets", json=ticket, headers=people.agent.headers).json()["id"]
    runtime.worker.run_pending()
    page_sign_in(client, db, people.admin)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Rule “Urgent payments” set the priority to" in page
    notifications = client.get("/notifications", headers=HTML).text
    assert "The rule “Urgent payments” asks you to look at #" in notifications
