"""Routing over the JSON API: settings, loads, permissions, and a routed ticket's event."""

from __future__ import annotations

from fastapi.testclient import TestClient

from okno.runtime import Runtime
from tests.factories.personas import Personas


def test_admins_set_policies_and_capacities_others_may_only_look(
    client: TestClient, runtime: Runtime, people: Personas
) -> None:
    admin, agent = people.admin.headers, people.agent.headers
    teams = client.get("/api/v1/routing/teams", headers=admin).json()
    assert [(t["name"], t["policy"], t["waiting"]) for t in teams] == [
        ("Billing", "manual", 0),
        ("Support", "manual", 0),
    ]
    assert client.get("/api/v1/routing/teams", headers=agent).status_code == 403
    assert client.get("/api/v1/routing/teams", headers=people.customer.headers).status_code == 403
    path = f"/api/v1/routing/teams/{people.team_a}"
    assert client.patch(path, json={"policy": "least_loaded"}, headers=agent).status_code == 403
    refused = client.patch(path, json={"policy": "fastest"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "policy"
    saved = client.patch(path, json={"policy": "round_robin", "skill_match": "strict"}, headers=admin)
    assert saved.status_code == 200 and saved.json()["policy"] == "round_robin"
    assert client.get("/api/v1/routing/teams/9999", headers=admin).status_code == 404

    me = f"/api/v1/routing/agents/{people.agent.user_id}"
    own = client.get(me, headers=agent).json()
    assert own["capacities"]["chat"] == 3 and own["capacities"]["email"] == 10 and own["own_capacities"] == {}
    assert client.get(f"/api/v1/routing/agents/{people.colleague.user_id}", headers=agent).status_code == 403
    assert client.patch(me, json={"capacities": {"chat": 5}}, headers=agent).status_code == 403
    for bad in ({"fax": 3}, {"chat": -1}, {"chat": 101}):
        assert client.patch(me, json={"capacities": bad}, headers=admin).status_code == 422, bad
    changed = client.patch(me, json={"capacities": {"chat": 5, "email": 0}}, headers=admin).json()
    assert changed["capacities"]["chat"] == 5 and changed["capacities"]["email"] == 0
    back = client.patch(me, json={"capacities": {"chat": None}}, headers=admin).json()
    assert back["own_capacities"] == {"email": 0} and back["capacities"]["chat"] == 3
    light = f"/api/v1/routing/agents/{people.light_agent.user_id}"
    assert client.get(light, headers=admin).status_code == 404  # light agents own no tickets


def test_a_routed_ticket_shows_its_reason_and_the_team_its_loads(
    client: TestClient, runtime: Runtime, people: Personas
) -> None:
    admin = people.admin.headers
    client.patch(f"/api/v1/routing/teams/{people.team_a}", json={"policy": "least_loaded"}, headers=admin)
    assert client.put("/api/v1/presence/me", json={"status": "online"}, headers=people.colleague.headers).is_success
    body = {
        "subject": "Chat from the widget",
        "customer": {"email": "c@example.com", "name": "C"},
        "message": {"body": "Hi"},
        "channel": "chat",
        "team_id": people.team_a,
    }
    ticket = client.post("/api/v1/tickets", json=body, headers=admin).json()
    runtime.worker.run_pending()
    read = client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin).json()
    assert read["assignee_id"] == people.colleague.user_id and read["status"] == "open"
    events = client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=admin).json()
    [assigned] = [e for e in events if e["kind"] == "assigned"]
    assert assigned["actor_type"] == "system" and assigned["data"]["reason"] == "routed"
    routing = assigned["data"]["routing"]
    assert routing["policy"] == "least_loaded" and routing["channel"] == "chat"
    outcomes = {c["user_id"]: c["outcome"] for c in routing["candidates"]}
    assert outcomes == {people.agent.user_id: "offline", people.colleague.user_id: "chosen"}
    team = client.get(f"/api/v1/routing/teams/{people.team_a}", headers=admin).json()
    loads = {a["user_id"]: (a["presence"], a["loads"]) for a in team["agents"]}
    assert loads == {people.agent.user_id: ("offline", {}), people.colleague.user_id: ("online", {"chat": 1})}
