"""SLA policies over the REST API, and the SLA clock in ticket reads: fields, errors, order, permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from okno.clock import FrozenClock
from okno.runtime import Runtime
from tests.factories.personas import Personas

POLICY: dict[str, Any] = {
    "name": "Priority support",
    "conditions": {"plans": ["priority"], "priorities": ["urgent", "high", "urgent"]},
    "targets": {"first_response": {"default": 60, "urgent": 15}, "resolution": {"default": 1440}},
    "business_hours": False,
}


def test_create_read_change_move_and_delete(client: TestClient, people: Personas) -> None:
    admin = people.admin.headers
    created = client.post("/api/v1/sla-policies", json=POLICY, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["position"] == 1 and body["enabled"] is True and body["pause_when_pending"] is True
    assert body["conditions"] == {
        "priorities": ["high", "urgent"],
        "plans": ["priority"],
        "channels": [],
        "team_ids": [],
    }
    assert body["targets"]["first_response"] == {"default": 60, "low": None, "normal": None, "high": None, "urgent": 15}
    assert body["targets"]["next_response"]["default"] is None
    second = client.post("/api/v1/sla-policies", json={**POLICY, "name": "Everyone", "conditions": {}}, headers=admin)
    first = client.post(
        "/api/v1/sla-policies", json={**POLICY, "name": "Urgent first", "position": 1}, headers=admin
    ).json()
    listed = client.get("/api/v1/sla-policies", headers=people.agent.headers).json()  # staff may read them
    assert [(p["name"], p["position"]) for p in listed] == [
        ("Urgent first", 1),
        ("Priority support", 2),
        ("Everyone", 3),
    ]
    moved = client.patch(f"/api/v1/sla-policies/{first['id']}", json={"position": 9}, headers=admin)
    assert moved.status_code == 200 and moved.json()["position"] == 3
    url = f"/api/v1/sla-policies/{body['id']}"
    changed = client.patch(url, json={"enabled": False, "targets": {"resolution": {"default": 60}}}, headers=admin)
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["targets"]["first_response"]["default"] is None  # targets are replaced as a whole
    assert client.get(url, headers=admin).json() == changed.json()
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).status_code == 404
    after = client.get("/api/v1/sla-policies", headers=admin).json()
    assert [(p["name"], p["position"]) for p in after] == [("Everyone", 1), ("Urgent first", 2)]
    assert second.status_code == 201


def test_invalid_policies_name_the_field_and_change_nothing(client: TestClient, people: Personas) -> None:
    admin = people.admin.headers
    cases = [
        ({**POLICY, "name": ""}, "name"),
        ({**POLICY, "targets": {}}, "targets"),
        ({**POLICY, "targets": {"first_response": {"default": 0}}}, "targets.first_response.default"),
        ({**POLICY, "targets": {"first_response": {"sometimes": 5}}}, "targets.first_response.sometimes"),
        ({**POLICY, "conditions": {"plans": ["gold"]}}, "conditions.plans.0"),
        ({**POLICY, "conditions": {"team_ids": [999999]}}, "conditions.team_ids"),
        ({**POLICY, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        refused = client.post("/api/v1/sla-policies", json=body, headers=admin)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["error"]["details"][0]["field"] == field, refused.json()
    assert client.post("/api/v1/sla-policies", json=POLICY, headers=admin).status_code == 201
    duplicate = client.post("/api/v1/sla-policies", json={**POLICY, "name": "priority SUPPORT"}, headers=admin)
    assert duplicate.status_code == 422 and duplicate.json()["error"]["details"][0]["field"] == "name"
    assert len(client.get("/api/v1/sla-policies", headers=admin).json()) == 1


def test_only_admins_change_policies_and_customers_read_none(client: TestClient, people: Personas) -> None:
    assert client.post("/api/v1/sla-policies", json=POLICY, headers=people.agent.headers).status_code == 403
    created = client.post("/api/v1/sla-policies", json=POLICY, headers=people.admin.headers).json()
    url = f"/api/v1/sla-policies/{created['id']}"
    assert client.patch(url, json={"enabled": False}, headers=people.agent.headers).status_code == 403
    assert client.delete(url, headers=people.agent.headers).status_code == 403
    assert client.get("/api/v1/sla-policies", headers=people.customer.headers).status_code == 403


def test_ticket_reads_carry_the_clock_for_staff(
    client: TestClient, runtime: Runtime, people: Personas, clock: FrozenClock
) -> None:
    client.post("/api/v1/sla-policies", json={**POLICY, "conditions": {}}, headers=people.admin.headers)
    start = clock.now()
    body = {
        "subject": "Down",
        "message": {"body": "All down"},
        "priority": "urgent",
        "customer_id": people.customer.customer_id,
    }
    ticket = client.post("/api/v1/tickets", json=body, headers=people.agent.headers).json()
    assert ticket["sla"] == []  # worked out by the ticket's reaction job, once the creation has committed
    runtime.worker.run_pending()
    clock.advance(timedelta(minutes=5))
    read = client.get(f"/api/v1/tickets/{ticket['id']}", headers=people.agent.headers).json()
    assert read["sla_due_at"] == (start + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    first, resolution = read["sla"]
    assert first["kind"] == "first_response" and first["outcome"] == "running" and first["paused"] is False
    assert first["remaining_seconds"] == 10 * 60 and first["breached_by_seconds"] is None
    assert first["target_minutes"] == 15 and resolution["kind"] == "resolution"
    clock.advance(timedelta(minutes=15))  # 5 minutes past due: reads as breached before any sweep
    late = client.get(f"/api/v1/tickets/{ticket['id']}", headers=people.agent.headers).json()["sla"][0]
    assert late["outcome"] == "breached" and late["breached_by_seconds"] == 5 * 60 and late["remaining_seconds"] is None
    own = client.get(f"/api/v1/tickets/{ticket['id']}", headers=people.customer.headers).json()
    assert own["sla"] is None  # the clock is internal


def test_tickets_list_by_sla_due_time(
    client: TestClient, runtime: Runtime, people: Personas, clock: FrozenClock
) -> None:
    client.post("/api/v1/sla-policies", json={**POLICY, "conditions": {}}, headers=people.admin.headers)
    ids = []
    for priority in ("normal", "urgent", "normal"):
        body = {
            "subject": priority,
            "message": {"body": "Help"},
            "priority": priority,
            "customer_id": people.customer.customer_id,
        }
        ids.append(client.post("/api/v1/tickets", json=body, headers=people.agent.headers).json()["id"])
        clock.advance(timedelta(minutes=1))
    client.post(
        "/api/v1/tickets",
        json={
            "subject": "Answered",
            "message": {"body": "Hi"},
            "outbound": True,
            "customer_id": people.customer.customer_id,
        },
        headers=people.agent.headers,
    )
    runtime.worker.run_pending()
    listed = client.get("/api/v1/tickets?sort=sla_due_at&limit=2", headers=people.agent.headers).json()
    # urgent (due at 15 minutes) first, then the normal ones by their due time (60 minutes after each opened).
    assert [t["id"] for t in listed["items"]] == [ids[1], ids[0]]
    rest = client.get(
        f"/api/v1/tickets?sort=sla_due_at&limit=2&cursor={listed['next_cursor']}", headers=people.agent.headers
    )
    assert [t["id"] for t in rest.json()["items"]][:1] == [ids[2]]
    soon = (clock.now() + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    due_soon = client.get("/api/v1/tickets", params={"sla_due_before": soon}, headers=people.agent.headers).json()
    assert [t["id"] for t in due_soon["items"]] == [ids[1]]
