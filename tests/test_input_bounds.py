"""Numbers no database row can hold are refused as invalid input naming their field, never a 500."""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from okno.db import Database
from okno.errors import install_error_handlers
from okno.tickets.models import Ticket
from okno.web.errors import install_page_handlers
from tests.factories.personas import Personas

TOO_BIG = 2**63  # one past BIGINT


def field_of(answer: object) -> str:
    body = answer.json()  # type: ignore[attr-defined]
    return str(body["error"]["details"][0]["field"])


def test_ids_in_paths_and_queries_out_of_range(client: TestClient, people: Personas) -> None:
    headers = people.admin.headers
    for path, field in (
        (f"/api/v1/tickets/{TOO_BIG}", "ticket_id"),
        ("/api/v1/tickets/0", "ticket_id"),
        (f"/api/v1/customers/{TOO_BIG * 4}", "customer_id"),
        (f"/api/v1/customers/1/notes/{TOO_BIG}/revisions", "note_id"),
        (f"/api/v1/tickets?assignee_id=-{TOO_BIG}", "assignee_id"),
        (f"/api/v1/customers?cursor={TOO_BIG * 10**20}", "cursor"),
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 422 and field_of(answer) == field, (path, answer.text)
    assert client.delete(f"/api/v1/teams/{TOO_BIG}", headers=headers).status_code == 422


def test_a_crafted_ticket_cursor_out_of_range_is_a_bad_cursor(client: TestClient, people: Personas) -> None:
    for value in ([TOO_BIG], ["2026-03-01T09:00:00"]):  # a number past BIGINT; an instant without offset
        sort = "number" if isinstance(value[0], int) else "created_at"
        raw = json.dumps([sort, value[0], 1]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        answer = client.get("/api/v1/tickets", params={"sort": sort, "cursor": cursor}, headers=people.admin.headers)
        assert answer.status_code == 422 and field_of(answer) == "cursor", answer.text


def test_ids_in_bodies_out_of_range_write_nothing(client: TestClient, people: Personas, db: Database) -> None:
    body = {
        "subject": "Refund",
        "customer": {"email": "anna@example.com", "name": "Anna"},
        "message": {"body": "Where is my refund?"},
        "assignee_id": TOO_BIG,
    }
    answer = client.post("/api/v1/tickets", json=body, headers=people.admin.headers)
    assert answer.status_code == 422 and field_of(answer) == "assignee_id"
    rule = {
        "name": "Route refunds",
        "triggers": ["ticket_created"],
        "conditions": {"all": [{"field": "subject", "op": "contains", "value": "refund"}]},
        "actions": [{"type": "set_team", "value": TOO_BIG}],
    }
    refused = client.post("/api/v1/rules", json=rule, headers=people.admin.headers)
    assert refused.status_code == 422 and field_of(refused) == "actions.0.value", refused.text
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_text_with_a_nul_character_is_refused_on_both_databases(
    client: TestClient, people: Personas, db: Database
) -> None:
    body = {
        "subject": "Refund",
        "customer": {"email": "anna@example.com", "name": "An\x00na"},
        "message": {"body": "Where is my refund?"},
        "tags": ["refund"],
    }
    answer = client.post("/api/v1/tickets", json=body, headers=people.admin.headers)
    assert answer.status_code == 422 and field_of(answer) == "customer.name"
    answer = client.post(
        "/api/v1/tickets",
        json={**body, "customer": {"email": "anna@example.com"}, "tags": ["a\x00"]},
        headers=people.admin.headers,
    )
    assert answer.status_code == 422 and field_of(answer) == "tags"
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_a_value_the_database_refuses_is_a_422_not_a_crash() -> None:
    app = FastAPI()
    install_error_handlers(app)
    install_page_handlers(app)

    @app.get("/api/v1/search")
    def search() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @app.post("/support/new")
    def form() -> None:
        raise sa.exc.DataError("INSERT …", {}, ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))

    http = TestClient(app, raise_server_exceptions=False)
    answer = http.get("/api/v1/search", headers={"accept": "text/html"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_value"
    page = http.post("/support/new", headers={"accept": "text/html"})
    assert page.status_code == 422 and "The request was not valid." in page.text
