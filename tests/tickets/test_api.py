from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.db import Database
from okno.tickets.models import Message, Ticket, TicketEvent
from tests.factories.personas import Personas

NEW_TICKET: dict[str, Any] = {
    "subject": "Не пришёл заказ",
    "customer": {"email": "Ivan.Petrov@Example.com", "name": "Иван Петров"},
    "message": {"body": "Заказ 1234 не пришёл, помогите."},
    "tags": ["Delivery", "order"],
    "priority": "high",
    "channel": "email",
}


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (Ticket, Message, TicketEvent)
        )


def test_create_ticket_returns_it_with_its_events(client: TestClient, people: Personas) -> None:
    response = client.post("/api/v1/tickets", json=NEW_TICKET, headers=people.agent.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "new" and body["priority"] == "high" and body["channel"] == "email"
    assert body["customer"]["email"] == "ivan.petrov@example.com" and body["customer"]["name"] == "Иван Петров"
    assert body["tags"] == ["delivery", "order"] and body["number"] >= 1000
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    assert body["status_changed_at"] == body["created_at"]  # in its first status since it was opened
    events = client.get(f"/api/v1/tickets/{body['id']}/events", headers=people.agent.headers).json()
    assert [e["kind"] for e in events] == ["created"]
    messages = client.get(f"/api/v1/tickets/{body['id']}/messages", headers=people.agent.headers).json()
    assert messages[0]["kind"] == "inbound" and messages[0]["body_html"].startswith("<p>")
    assert client.get(f"/api/v1/tickets/{body['id']}", headers=people.agent.headers).json() == body


def test_idempotency_key_returns_the_first_result(client: TestClient, people: Personas, db: Database) -> None:
    headers = {**people.agent.headers, "Idempotency-Key": "order-1234-retry"}
    first = client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)
    before = counts(db)
    again = client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert counts(db) == before
    reused = client.post("/api/v1/tickets", json={**NEW_TICKET, "subject": "Other"}, headers=headers)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their caller: another user's identical key is another request.
    other = client.post(
        "/api/v1/tickets",
        json=NEW_TICKET,
        headers={**people.colleague.headers, "Idempotency-Key": "order-1234-retry"},
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_invalid_input_names_the_field_and_changes_nothing(client: TestClient, people: Personas, db: Database) -> None:
    before = counts(db)
    cases = [
        ({**NEW_TICKET, "priority": "extreme"}, "priority"),
        ({**NEW_TICKET, "subject": ""}, "subject"),
        ({**NEW_TICKET, "customer": {"email": "not-an-email"}}, "customer.email"),
        ({**NEW_TICKET, "colour": "red"}, "colour"),
        ({**NEW_TICKET, "tags": ["no spaces allowed?!"]}, "tags"),
        ({**NEW_TICKET, "team_id": 999_999}, "team_id"),
        ({**NEW_TICKET, "assignee_id": people.light_agent.user_id}, "assignee_id"),
        ({**NEW_TICKET, "custom_fields": {"unknown": 1}}, "custom_fields.unknown"),
    ]
    for payload, field in cases:
        response = client.post("/api/v1/tickets", json=payload, headers=people.agent.headers)
        assert response.status_code == 422, (field, response.text)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert any(d["field"].startswith(field) for d in error["details"]), (field, error)
    assert counts(db) == before


def test_error_bodies(client: TestClient, people: Personas) -> None:
    assert client.get("/api/v1/tickets").status_code == 401
    bad = client.get("/api/v1/tickets", headers={"Authorization": "Bearer okno_nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
    missing = client.get("/api/v1/tickets/424242", headers=people.agent.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    huge = client.post(
        "/api/v1/tickets",
        json={**NEW_TICKET, "message": {"body": "x" * 70_000}},
        headers=people.agent.headers,
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    not_json = client.post(
        "/api/v1/tickets",
        content=b"{oops",
        headers={**people.agent.headers, "content-type": "application/json"},
    )
    assert not_json.status_code == 422


def test_invalid_transition_is_409_and_leaves_ticket_unchanged(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json=NEW_TICKET, headers=people.agent.headers).json()
    response = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"status": "closed", "priority": "low"},
        headers=people.agent.headers,
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["allowed"] == ["on_hold", "open", "pending", "solved"]
    after = client.get(f"/api/v1/tickets/{ticket['id']}", headers=people.agent.headers).json()
    assert after["priority"] == "high" and after["status"] == "new"


def test_patch_changes_fields_with_events(client: TestClient, people: Personas) -> None:
    client.post(
        "/api/v1/custom-fields",
        json={"key": "order_number", "label": "Order", "field_type": "text"},
        headers=people.admin.headers,
    )
    client.post(
        "/api/v1/custom-fields",
        json={"key": "product", "label": "Product", "field_type": "select", "options": ["shoes", "bags"]},
        headers=people.admin.headers,
    )
    ticket = client.post("/api/v1/tickets", json=NEW_TICKET, headers=people.agent.headers).json()
    response = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={
            "team_id": people.team_a,
            "assignee_id": people.agent.user_id,
            "priority": "urgent",
            "tags": ["vip"],
            "custom_fields": {"order_number": "A-1234", "product": "shoes"},
        },
        headers=people.agent.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assignee_id"] == people.agent.user_id and body["status"] == "open"
    assert body["custom_fields"] == {"order_number": "A-1234", "product": "shoes"} and body["tags"] == ["vip"]
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=people.agent.headers).json()
    by_kind = {e["kind"]: e["data"] for e in events}
    assert by_kind["team_changed"] == {"old": None, "new": people.team_a}
    assert by_kind["assigned"]["new"] == people.agent.user_id
    assert by_kind["tags_changed"] == {"added": ["vip"], "removed": ["delivery", "order"]}
    field_events = [e["data"] for e in events if e["kind"] == "field_changed"]
    # Free text stays out of the log; codes are kept.
    assert {"field": "custom_fields.order_number", "old": None, "new": None} in field_events
    assert {"field": "custom_fields.product", "old": None, "new": "shoes"} in field_events
    wrong = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"custom_fields": {"product": "hats"}},
        headers=people.agent.headers,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "custom_fields.product"


def test_list_filters_sorting_and_keyset_pages(client: TestClient, people: Personas) -> None:
    ids = []
    for n in range(7):
        payload = {**NEW_TICKET, "subject": f"Order {n}", "tags": ["even" if n % 2 == 0 else "odd"]}
        if n < 3:
            payload["team_id"] = people.team_a
        ids.append(client.post("/api/v1/tickets", json=payload, headers=people.admin.headers).json()["id"])
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "sort": "-created_at"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/tickets", params=params, headers=people.admin.headers).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    team = client.get("/api/v1/tickets", params={"team_id": people.team_a}, headers=people.admin.headers).json()
    assert {t["id"] for t in team["items"]} == set(ids[:3])
    odd = client.get("/api/v1/tickets", params={"tag": "odd"}, headers=people.admin.headers).json()
    assert len(odd["items"]) == 3
    found = client.get("/api/v1/tickets", params={"q": "order 4"}, headers=people.admin.headers).json()
    assert [t["id"] for t in found["items"]] == [ids[4]]
    by_body = client.get("/api/v1/tickets", params={"q": "помогите"}, headers=people.admin.headers).json()
    assert len(by_body["items"]) == 7
    bad_sort = client.get("/api/v1/tickets", params={"sort": "subject"}, headers=people.admin.headers)
    assert bad_sort.status_code == 422 and bad_sort.json()["error"]["details"][0]["field"] == "sort"
    bad_cursor = client.get("/api/v1/tickets", params={"cursor": "garbage"}, headers=people.admin.headers)
    assert bad_cursor.status_code == 422
    prio = client.get("/api/v1/tickets", params={"sort": "-priority", "limit": 2}, headers=people.admin.headers)
    assert prio.status_code == 200 and prio.json()["next_cursor"]

    since = client.get(f"/api/v1/tickets/{ids[0]}", headers=people.admin.headers).json()["created_at"]
    recent = client.get("/api/v1/tickets", params={"updated_since": since}, headers=people.admin.headers)
    assert recent.status_code == 200 and len(recent.json()["items"]) == 7
    for field in ("updated_since", "sla_due_before"):  # an instant without its offset could be any
        naive = client.get("/api/v1/tickets", params={field: "2026-03-01T09:00:00"}, headers=people.admin.headers)
        assert naive.status_code == 422 and naive.json()["error"]["details"][0]["field"] == field


def test_reply_and_note_through_the_api(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json=NEW_TICKET, headers=people.agent.headers).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    reply = client.post(url, json={"body": "Отправили заново", "status": "pending"}, headers=people.agent.headers)
    assert reply.status_code == 201 and reply.json()["kind"] == "reply"
    note = client.post(url, json={"body": "<b>internal</b>", "kind": "note"}, headers=people.agent.headers)
    assert note.status_code == 201 and note.json()["kind"] == "note"
    html = client.post(
        url,
        json={"body_html": '<p onclick="x()">Hi<script>alert(1)</script></p>', "kind": "note"},
        headers=people.agent.headers,
    ).json()
    assert html["body_html"] == "<p>Hi</p>" and html["body_text"] == "Hi"
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=people.agent.headers).json()["status"] == "pending"
    empty = client.post(url, json={"body": "  "}, headers=people.agent.headers)
    assert empty.status_code == 422


def test_a_reply_written_over_a_colleagues_is_held_back(client: TestClient, people: Personas) -> None:
    ticket = client.post("/api/v1/tickets", json=NEW_TICKET, headers=people.agent.headers).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    seen = client.get(url, headers=people.agent.headers).json()[-1]["id"]
    client.post(url, json={"body": "Colleague answers first"}, headers=people.colleague.headers)
    late = client.post(url, json={"body": "Me too", "seen_message_id": seen}, headers=people.agent.headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "replied_meanwhile"
    newest = client.get(url, headers=people.agent.headers).json()[-1]["id"]
    again = client.post(url, json={"body": "Adding a detail", "seen_message_id": newest}, headers=people.agent.headers)
    assert again.status_code == 201
    note = client.post(url, json={"body": "fyi", "kind": "note", "seen_message_id": seen}, headers=people.agent.headers)
    assert note.status_code == 201  # notes never reach the customer: no double answer to prevent
