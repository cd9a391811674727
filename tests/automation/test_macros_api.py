"""Macros over the REST API: the project's error body, idempotent applying, events, permissions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories.personas import Personas

TICKET: dict[str, Any] = {
    "subject": "Заказ не пришёл",
    "customer": {"email": "ivan@example.com", "name": "Иван Петров"},
    "message": {"body": "Где мой заказ?"},
}
MACRO: dict[str, Any] = {
    "title": "Заказ в пути",
    "body": "Здравствуйте, {{customer.first_name}}! Обращение #{{ticket.number}}.",
    "actions": {"status": "pending", "add_tags": ["Delivery"]},
}


def test_create_read_change_and_delete(client: TestClient, people: Personas) -> None:
    created = client.post("/api/v1/macros", json=MACRO, headers=people.agent.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["scope"] == "personal" and body["owner_id"] == people.agent.user_id and body["kind"] == "reply"
    assert body["actions"]["add_tags"] == ["delivery"] and body["usage_count"] == 0
    url = f"/api/v1/macros/{body['id']}"
    assert client.get(url, headers=people.agent.headers).json() == body
    assert [m["id"] for m in client.get("/api/v1/macros", headers=people.agent.headers).json()] == [body["id"]]
    assert client.get(url, headers=people.colleague.headers).status_code == 404
    changed = client.patch(url, json={"title": "Renamed", "kind": "note"}, headers=people.agent.headers)
    assert changed.status_code == 200 and changed.json()["title"] == "Renamed" and changed.json()["kind"] == "note"
    assert client.patch(url, json={"title": "x"}, headers=people.colleague.headers).status_code == 404
    bad = client.patch(url, json={"body": "{{ticket.id}}"}, headers=people.agent.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "body"
    assert client.patch(url, json={"team_id": people.team_a}, headers=people.agent.headers).status_code == 422
    assert client.get("/api/v1/macros?scope=galaxy", headers=people.agent.headers).status_code == 422
    assert client.get(url, headers=people.agent.headers).json()["title"] == "Renamed"
    assert client.delete(url, headers=people.agent.headers).status_code == 204
    assert client.get(url, headers=people.agent.headers).status_code == 404


def test_unknown_placeholders_are_refused_listing_the_valid_ones(client: TestClient, people: Personas) -> None:
    refused = client.post(
        "/api/v1/macros", json={**MACRO, "body": "Hi {{customer.firstname}}"}, headers=people.agent.headers
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    (detail,) = error["details"]
    assert detail["field"] == "body"
    assert "{{customer.firstname}}" in detail["reason"] and "{{customer.first_name}}" in detail["reason"]


def test_invalid_input_names_the_field(client: TestClient, people: Personas) -> None:
    cases = [
        ({**MACRO, "title": ""}, "title"),
        ({**MACRO, "kind": "inbound"}, "kind"),
        ({**MACRO, "scope": "galaxy"}, "scope"),
        ({**MACRO, "actions": {"status": "new"}}, "actions.status"),
        ({**MACRO, "actions": {"priority": "extreme"}}, "actions.priority"),
        ({**MACRO, "actions": {"add_tags": ["bad tag?!"]}}, "actions.add_tags"),
        ({**MACRO, "actions": {"assignee": "someone"}}, "actions.assignee"),
        ({**MACRO, "actions": {"colour": "red"}}, "actions.colour"),
        ({**MACRO, "scope": "team"}, "team_id"),
        ({**MACRO, "scope": "team", "team_id": 999_999}, "team_id"),
        ({**MACRO, "actions": {"team_id": 999_999}}, "actions.team_id"),
    ]
    for payload, field in cases:
        response = client.post("/api/v1/macros", json=payload, headers=people.admin.headers)
        assert response.status_code == 422, (field, response.text)
        details = response.json()["error"]["details"]
        assert any(d["field"].startswith(field) for d in details), (field, details)
    assert client.get("/api/v1/macros?scope=all", headers=people.admin.headers).json() == []


def test_agents_share_nothing_customers_reach_nothing(client: TestClient, people: Personas) -> None:
    shared = client.post("/api/v1/macros", json={**MACRO, "scope": "everyone"}, headers=people.agent.headers)
    assert shared.status_code == 403 and shared.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/macros", headers=people.customer.headers).status_code == 403
    assert client.post("/api/v1/macros", json=MACRO, headers=people.customer.headers).status_code == 403


def test_applying_returns_the_text_and_the_changed_ticket(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json=TICKET, headers=people.agent.headers).json()
    macro = client.post("/api/v1/macros", json=MACRO, headers=people.agent.headers).json()
    url = f"/api/v1/tickets/{ticket['id']}/macros/{macro['id']}"
    headers = {**people.agent.headers, "Idempotency-Key": "apply-1"}
    applied = client.post(url, json={"post": False}, headers=headers)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["text"] == f"Здравствуйте, Иван! Обращение #{ticket['number']}."
    assert body["message_id"] is None and body["missing_placeholders"] == []
    assert body["ticket"]["status"] == "pending" and body["ticket"]["tags"] == ["delivery"]
    again = client.post(url, json={"post": False}, headers=headers)
    assert again.json() == body and again.headers["Idempotent-Replayed"] == "true"
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=people.agent.headers).json()
    assert [e["kind"] for e in events] == ["created", "macro_applied", "status_changed", "tags_changed"]
    assert events[1]["data"] == {"macro_id": macro["id"]} and events[1]["actor_id"] == people.agent.user_id
    assert client.get(f"/api/v1/macros/{macro['id']}", headers=people.agent.headers).json()["usage_count"] == 1


def test_posting_a_macro_reply(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json=TICKET, headers=people.agent.headers).json()
    macro = client.post(
        "/api/v1/macros",
        json={
            "title": "Done",
            "body": "{{customer.first_name}}, готово. {{agent.name}}",
            "actions": {"status": "solved"},
        },
        headers=people.agent.headers,
    ).json()
    posted = client.post(
        f"/api/v1/tickets/{ticket['id']}/macros/{macro['id']}", json={"post": True}, headers=people.agent.headers
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["ticket"]["status"] == "solved" and posted.json()["message_id"] is not None
    messages = client.get(f"/api/v1/tickets/{ticket['id']}/messages", headers=people.agent.headers).json()
    assert messages[-1]["kind"] == "reply" and messages[-1]["body_text"] == "Иван, готово. Agent"


def test_applying_is_refused_cleanly(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json={**TICKET, "team_id": people.team_a}, headers=people.agent.headers)
    ticket_id = ticket.json()["id"]
    macro = client.post(
        "/api/v1/macros", json={**MACRO, "scope": "team", "team_id": people.team_a}, headers=people.admin.headers
    ).json()
    url = f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}"
    light = client.post(url, json={"post": True}, headers=people.light_agent.headers)
    assert light.status_code == 403 and light.json()["error"]["code"] == "forbidden"
    assert client.post(url, headers=people.customer.headers).status_code == 403
    assert client.post(url, headers=people.other_agent.headers).status_code == 404  # neither is theirs
    assert client.post(f"/api/v1/tickets/{ticket_id}/macros/999999", headers=people.agent.headers).status_code == 404
    assert client.post(url, json={"post": "maybe"}, headers=people.agent.headers).status_code == 422
    events = client.get(f"/api/v1/tickets/{ticket_id}/events", headers=people.agent.headers).json()
    assert [e["kind"] for e in events] == ["created"]
    # Without a body the macro is applied and nothing posted.
    assert client.post(url, headers=people.agent.headers).json()["message_id"] is None


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/macros"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/macros/{macro_id}"])
    apply = paths["/api/v1/tickets/{ticket_id}/macros/{macro_id}"]["post"]
    assert "idempotency-key" in {p["name"].lower() for p in apply["parameters"]}


def test_customers_do_not_see_that_a_macro_was_used(client: TestClient, people: Personas) -> None:
    ticket = client.post(
        "/api/v1/tickets", json={"subject": "Hi", "message": {"body": "Help"}}, headers=people.customer.headers
    ).json()
    macro = client.post("/api/v1/macros", json=MACRO, headers=people.agent.headers).json()
    client.post(
        f"/api/v1/tickets/{ticket['id']}/macros/{macro['id']}", json={"post": True}, headers=people.agent.headers
    )
    staff = [
        e["kind"] for e in client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=people.agent.headers).json()
    ]
    seen = [
        e["kind"] for e in client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=people.customer.headers).json()
    ]
    assert "macro_applied" in staff and "tags_changed" in staff
    assert "macro_applied" not in seen and "tags_changed" not in seen and "reply_sent" in seen
