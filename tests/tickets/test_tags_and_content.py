from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from okno.db import Database
from okno.tickets.content import bodies, html_to_text, sanitise_html
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('<p hx-get="/api/v1/users" hx-trigger="load">hi</p>', "<p>hi</p>"),
        ('<div data-hx-post="/x" style="position:fixed">x</div>', "<div>x</div>"),
        ('<img src="x" onerror="alert(1)">', '<img src="x">'),
        ("<script>alert(1)</script><b>ok</b>", "<b>ok</b>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<iframe src="https://evil.example.com"></iframe><form><input></form>', ""),
        (
            '<a href="https://shop.example.com">shop</a>',
            '<a href="https://shop.example.com" rel="noopener noreferrer nofollow">shop</a>',
        ),
    ],
)
def test_sanitiser_allow_list(raw: str, safe: str) -> None:
    assert sanitise_html(raw) == safe


def test_text_and_html_bodies() -> None:
    text, html = bodies("Привет!\n\nСтрока 1\nСтрока 2 <b>", None)
    assert html == "<p>Привет!</p><p>Строка 1<br>Строка 2 &lt;b&gt;</p>" and text.startswith("Привет")
    assert html_to_text("<p>One</p><p>Two &amp; three</p><br>") == "One\nTwo & three"


def test_tag_lifecycle(client: TestClient, db: Database, people: Personas) -> None:
    created = client.post("/api/v1/tags", json={"name": "Возврат Денег"}, headers=people.admin.headers)
    assert created.status_code == 201 and created.json()["name"] == "возврат-денег"
    assert client.post("/api/v1/tags", json={"name": "возврат денег"}, headers=people.admin.headers).status_code == 409
    assert client.post("/api/v1/tags", json={"name": "x"}, headers=people.agent.headers).status_code == 403
    tag_id = created.json()["id"]
    renamed = client.patch(f"/api/v1/tags/{tag_id}", json={"name": "refund"}, headers=people.admin.headers)
    assert renamed.json()["name"] == "refund"
    ticket_id = make_ticket(db, people.agent.actor, tags=["refund"])
    assert client.delete(f"/api/v1/tags/{tag_id}", headers=people.admin.headers).status_code == 409
    client.patch(f"/api/v1/tickets/{ticket_id}", json={"remove_tags": ["refund"]}, headers=people.agent.headers)
    assert client.delete(f"/api/v1/tags/{tag_id}", headers=people.admin.headers).status_code == 204
    assert [t["name"] for t in client.get("/api/v1/tags", headers=people.agent.headers).json()] == []


def test_customer_without_history_can_be_deleted(client: TestClient, db: Database, people: Personas) -> None:
    mistaken = client.post("/api/v1/customers", json={"email": "typo@example.com"}, headers=people.agent.headers).json()
    client.post(f"/api/v1/customers/{mistaken['id']}/notes", json={"body": "duplicate"}, headers=people.agent.headers)
    assert client.delete(f"/api/v1/customers/{mistaken['id']}", headers=people.agent.headers).status_code == 204
    assert client.get(f"/api/v1/customers/{mistaken['id']}", headers=people.agent.headers).status_code == 404
    with_ticket = make_ticket(db, people.agent.actor, customer={"email": "real@example.com"})
    customer_id = client.get(f"/api/v1/tickets/{with_ticket}", headers=people.agent.headers).json()["customer"]["id"]
    kept = client.delete(f"/api/v1/customers/{customer_id}", headers=people.agent.headers)
    assert kept.status_code == 409 and kept.json()["error"]["code"] == "in_use"
