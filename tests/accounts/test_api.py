from __future__ import annotations

from fastapi.testclient import TestClient

from okno.db import Database
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket


def test_sign_in_issues_a_working_token(client: TestClient, people: Personas) -> None:
    created = client.post(
        "/api/v1/users",
        json={
            "email": "Olga@Example.com",
            "name": "Ольга",
            "role": "agent",
            "password": "correct-horse-1",
            "team_ids": [people.team_a],
            "languages": ["RU", "en"],
            "time_zone": "Europe/Moscow",
        },
        headers=people.admin.headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "olga@example.com" and user["languages"] == ["ru", "en"]
    assert [t["name"] for t in user["teams"]] == ["Support"]
    token = client.post("/api/v1/auth/tokens", json={"email": "olga@example.com", "password": "correct-horse-1"})
    assert token.status_code == 201
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    revoked = client.delete(
        f"/api/v1/auth/tokens/{token.json()['token_id']}",
        headers={"Authorization": f"Bearer {token.json()['token']}"},
    )
    assert revoked.status_code == 204
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token.json()['token']}"}).status_code == 401
    )


def test_failed_sign_ins_are_rate_limited(client: TestClient, people: Personas) -> None:
    client.post(
        "/api/v1/users",
        json={"email": "target@example.com", "name": "T", "password": "right-password-1"},
        headers=people.admin.headers,
    )
    for _ in range(10):
        wrong = client.post("/api/v1/auth/tokens", json={"email": "target@example.com", "password": "guess-123456"})
        assert wrong.status_code == 401
    blocked = client.post("/api/v1/auth/tokens", json={"email": "target@example.com", "password": "right-password-1"})
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    unknown = client.post("/api/v1/auth/tokens", json={"email": "nobody@example.com", "password": "whatever-1"})
    assert unknown.status_code == 401


def test_only_admins_manage_users_and_teams(client: TestClient, people: Personas) -> None:
    new_user = {"email": "x@example.com", "name": "X"}
    assert client.post("/api/v1/users", json=new_user, headers=people.agent.headers).status_code == 403
    assert client.post("/api/v1/teams", json={"name": "VIP"}, headers=people.agent.headers).status_code == 403
    team = client.post("/api/v1/teams", json={"name": "VIP"}, headers=people.admin.headers)
    assert team.status_code == 201
    duplicate = client.post("/api/v1/teams", json={"name": "VIP"}, headers=people.admin.headers)
    assert duplicate.status_code == 409
    renamed = client.patch(f"/api/v1/teams/{team.json()['id']}", json={"name": "VIP+"}, headers=people.admin.headers)
    assert renamed.json()["name"] == "VIP+"
    assert client.delete(f"/api/v1/teams/{team.json()['id']}", headers=people.admin.headers).status_code == 204
    assert [t["name"] for t in client.get("/api/v1/teams", headers=people.agent.headers).json()] == [
        "Billing",
        "Support",
    ]
    assert client.get("/api/v1/teams", headers=people.customer.headers).status_code == 403
    bad_zone = client.post(
        "/api/v1/users", json={**new_user, "time_zone": "Mars/Olympus"}, headers=people.admin.headers
    )
    assert bad_zone.status_code == 422 and bad_zone.json()["error"]["details"][0]["field"] == "time_zone"


def test_deactivated_user_keeps_history_and_loses_access(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.colleague.user_id)
    assert client.delete(f"/api/v1/users/{people.colleague.user_id}", headers=people.admin.headers).status_code == 204
    assert client.get("/api/v1/users/me", headers=people.colleague.headers).status_code == 401
    user = client.get(f"/api/v1/users/{people.colleague.user_id}", headers=people.admin.headers).json()
    assert user["is_active"] is False and user["deactivated_at"]
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=people.admin.headers).json()
    assert ticket["assignee_id"] is None and ticket["team_id"] == people.team_a
    team_in_use = client.delete(f"/api/v1/teams/{people.team_a}", headers=people.admin.headers)
    assert team_in_use.status_code == 409


def test_ids_of_deleted_rows_are_never_reused(client: TestClient, people: Personas) -> None:
    """Events keep the ids of teams and customers; a new row must never inherit an old one's history."""
    first = client.post("/api/v1/teams", json={"name": "Temporary"}, headers=people.admin.headers).json()["id"]
    assert client.delete(f"/api/v1/teams/{first}", headers=people.admin.headers).status_code == 204
    second = client.post("/api/v1/teams", json={"name": "Permanent"}, headers=people.admin.headers).json()["id"]
    assert second > first
