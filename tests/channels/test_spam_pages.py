"""Marking tickets as spam and back (API, ticket page, inbox), and the spam filter's admin page and API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.clock import FrozenClock
from okno.db import Database
from okno.routing import profiles
from okno.routing.schemas import TeamRoutingUpdate
from okno.runtime import Runtime
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel, TicketEvent
from okno.tickets.schemas import MessageIn
from okno.tickets.service import Incoming
from tests.factories.personas import Person, Personas
from tests.factories.sla import make_policy
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in


def kinds(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        query = sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list(session.scalars(query))


def last_event(db: Database, ticket_id: int, kind: str) -> dict[str, Any]:
    with db.read() as session:
        query = (
            sa.select(TicketEvent.data)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
            .order_by(TicketEvent.id.desc())
        )
        return dict(session.scalars(query).first() or {})


def customers_request(db: Database, people: Personas) -> int:
    with db.write() as session:
        posted = tickets_service.receive(
            session,
            people.customer.actor,
            Incoming(
                channel=Channel.email,
                subject="Cheap watches",
                message=MessageIn(body="Buy cheap watches."),
                team_id=people.team_a,
            ),
        )
        return posted.ticket.id


def test_agents_mark_and_unmark_through_the_api(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
    url = f"/api/v1/tickets/{ticket_id}/spam"
    marked = client.post(url, headers=people.agent.headers)
    assert marked.status_code == 200, marked.text
    assert marked.json()["spam_at"] is not None and marked.json()["assignee_id"] is None
    assert kinds(db, ticket_id)[-2:] == ["marked_spam", "assigned"]
    marking = last_event(db, ticket_id, "marked_spam")
    assert (marking["reason"], marking["blocked_rule_id"], marking["signals"]) == ("manual", None, [])

    listed = client.get("/api/v1/tickets", headers=people.agent.headers).json()["items"]
    assert ticket_id not in [t["id"] for t in listed]
    folder = client.get("/api/v1/tickets?spam=true", headers=people.agent.headers).json()["items"]
    assert [t["id"] for t in folder] == [ticket_id]

    again = client.post(url, headers=people.colleague.headers)
    assert again.status_code == 200 and kinds(db, ticket_id).count("marked_spam") == 1
    assert client.post(url, headers=people.light_agent.headers).status_code == 403
    assert client.post(url, headers=people.other_agent.headers).status_code == 404  # team B, limited to it
    assert client.post(url, json={"surprise": 1}, headers=people.agent.headers).status_code == 422

    back = client.delete(url, headers=people.agent.headers)
    assert back.status_code == 200 and back.json()["spam_at"] is None
    assert kinds(db, ticket_id)[-1] == "unmarked_spam"
    assert client.delete(url, headers=people.agent.headers).status_code == 200
    assert kinds(db, ticket_id).count("unmarked_spam") == 1


def test_marking_can_block_the_sender_and_unmarking_lifts_the_block(
    client: TestClient, db: Database, people: Personas
) -> None:
    ticket_id = customers_request(db, people)
    url = f"/api/v1/tickets/{ticket_id}/spam"
    assert client.post(url, json={"block_sender": True}, headers=people.agent.headers).status_code == 200
    [rule] = client.get("/api/v1/spam-rules", headers=people.admin.headers).json()
    assert (rule["field"], rule["match"], rule["value"], rule["action"]) == (
        "sender",
        "equals",
        people.customer.email,
        "block",
    )
    assert (rule["ticket_id"], rule["created_by_id"]) == (ticket_id, people.agent.user_id)
    assert last_event(db, ticket_id, "marked_spam")["blocked_rule_id"] == rule["id"]

    # The customer's view says nothing of the folder.
    mine = client.get(f"/api/v1/tickets/{ticket_id}", headers=people.customer.headers)
    assert mine.status_code == 200 and mine.json()["spam_at"] is None
    assert client.post(url, headers=people.customer.headers).status_code == 403

    assert client.delete(url, headers=people.agent.headers).status_code == 200
    assert client.get("/api/v1/spam-rules", headers=people.admin.headers).json() == []
    assert last_event(db, ticket_id, "unmarked_spam") == {"unblocked_rule_ids": [rule["id"]]}


def test_a_ticket_out_of_spam_is_routed_and_its_clock_starts_then(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, clock: FrozenClock
) -> None:
    make_policy(db)  # first response within 60 minutes, calendar time
    with db.write() as session:
        profiles.update_team(
            session, people.admin.actor, people.team_a, changes=TeamRoutingUpdate(policy="least_loaded")
        )
        presence.set_status(session, people.agent.actor, PresenceStatus.online)
    ticket_id = customers_request(db, people)
    assert client.post(f"/api/v1/tickets/{ticket_id}/spam", headers=people.colleague.headers).status_code == 200
    runtime.worker.run_pending()
    read = client.get(f"/api/v1/tickets/{ticket_id}", headers=people.agent.headers).json()
    assert (read["assignee_id"], read["sla"], read["sla_due_at"]) == (None, [], None)

    clock.advance(timedelta(hours=3))
    with db.write() as session:
        presence.set_status(session, people.agent.actor, PresenceStatus.online)  # still at work
    assert client.delete(f"/api/v1/tickets/{ticket_id}/spam", headers=people.colleague.headers).status_code == 200
    runtime.worker.run_pending()
    read = client.get(f"/api/v1/tickets/{ticket_id}", headers=people.agent.headers).json()
    assert read["assignee_id"] == people.agent.user_id
    first = next(t for t in read["sla"] if t["kind"] == "first_response")
    assert first["remaining_seconds"] == 3600  # the three hours in spam do not count


def signed_in(client: TestClient, db: Database, person: Person) -> None:
    set_password(db, person.user_id)
    sign_in(client, person.email)


def test_the_ticket_page_marks_and_unmarks(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = customers_request(db, people)
    signed_in(client, db, people.agent)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert 'id="mark-spam"' in page and "spam-notice" not in page
    token = csrf(page)
    assert client.post(f"/tickets/{ticket_id}/spam", data={}, headers=HTML).status_code == 403  # no CSRF token
    marked = client.post(
        f"/tickets/{ticket_id}/spam", data={"csrf_token": token, "block_sender": "on"}, follow_redirects=False
    )
    assert marked.status_code == 303 and marked.headers["location"] == f"/tickets/{ticket_id}"
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "In the spam folder since" in page and 'id="not-spam"' in page and 'id="mark-spam"' not in page
    assert "marked it as spam and blocked the sender" in re.sub(r"\s+", " ", page)

    inbox = client.get("/inbox?view=spam", headers=HTML).text
    assert f'href="/tickets/{ticket_id}"' in inbox and 'value="spam:unmark"' in inbox
    assert f'href="/tickets/{ticket_id}"' not in client.get("/inbox?view=my_teams", headers=HTML).text

    unmarked = client.post(f"/tickets/{ticket_id}/not-spam", data={"csrf_token": token}, follow_redirects=False)
    assert unmarked.status_code == 303
    page = re.sub(r"\s+", " ", client.get(f"/tickets/{ticket_id}", headers=HTML).text)
    assert "In the spam folder since" not in page and "took it out of spam and lifted the block on the sender" in page


def test_light_agents_see_no_spam_buttons_and_may_not_use_them(
    client: TestClient, db: Database, people: Personas
) -> None:
    ticket_id = customers_request(db, people)
    signed_in(client, db, people.light_agent)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert 'id="mark-spam"' not in page
    refused = client.post(f"/tickets/{ticket_id}/spam", data={"csrf_token": csrf(page)}, headers=HTML)
    assert refused.status_code == 422 and "may not change tickets" in refused.text
    assert "marked_spam" not in kinds(db, ticket_id)


def test_bulk_marking_from_the_inbox(client: TestClient, db: Database, people: Personas) -> None:
    first, second = customers_request(db, people), customers_request(db, people)
    signed_in(client, db, people.agent)
    page = client.get("/inbox?view=my_teams", headers=HTML).text
    done = client.post(
        "/inbox/bulk",
        data={"csrf_token": csrf(page), "ticket_id": [first, second], "action": "spam:mark", "return_to": "/inbox"},
    )
    assert done.status_code == 200 and "2 tickets changed." in done.text
    assert "marked_spam" in kinds(db, first) and "marked_spam" in kinds(db, second)
    back = client.post(
        "/inbox/bulk",
        data={"csrf_token": csrf(page), "ticket_id": [first], "action": "spam:unmark", "return_to": "/inbox?view=spam"},
    )
    assert back.status_code == 200 and kinds(db, first)[-1] == "unmarked_spam"


def test_the_admin_page_keeps_the_threshold_and_the_rules(client: TestClient, db: Database, people: Personas) -> None:
    signed_in(client, db, people.admin)
    page = client.get("/admin/spam", headers=HTML)
    assert page.status_code == 200 and "Built-in signals" in page.text and 'href="/admin/spam"' in page.text
    assert 'value="5"' in page.text
    token = csrf(page.text)
    refused = client.post("/admin/spam/settings", data={"csrf_token": token, "enabled": "on", "threshold": "lots"})
    assert refused.status_code == 422 and "The threshold is a number above 0" in refused.text
    saved = client.post("/admin/spam/settings", data={"csrf_token": token, "threshold": "7,5"}, follow_redirects=False)
    assert saved.status_code == 303
    assert client.get("/api/v1/spam-settings", headers=people.admin.headers).json()["threshold"] == 7.5
    assert client.get("/api/v1/spam-settings", headers=people.admin.headers).json()["enabled"] is False

    rule = {
        "csrf_token": token,
        "field": "body",
        "match": "regex",
        "value": "(a|aa)+$",
        "action": "score",
        "weight": "3",
    }
    slow = client.post("/admin/spam/rules", data=rule)
    assert slow.status_code == 422 and "too slow" in slow.text
    weightless = client.post("/admin/spam/rules", data={**rule, "value": "casino", "match": "contains", "weight": "0"})
    assert weightless.status_code == 422 and "A score rule needs a weight" in weightless.text
    created = client.post("/admin/spam/rules", data={**rule, "value": "casino", "match": "contains", "weight": "2,5"})
    assert created.status_code == 200 and "The rule was created." in created.text and "+2.5" in created.text
    [stored] = client.get("/api/v1/spam-rules", headers=people.admin.headers).json()

    edit = client.get(f"/admin/spam/rules/{stored['id']}", headers=HTML)
    assert edit.status_code == 200 and 'value="casino"' in edit.text
    changed = client.post(
        f"/admin/spam/rules/{stored['id']}",
        data={**rule, "value": "casino", "match": "contains", "action": "block", "weight": ""},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert client.get(f"/api/v1/spam-rules/{stored['id']}", headers=people.admin.headers).json()["action"] == "block"
    deleted = client.post(f"/admin/spam/rules/{stored['id']}/delete", data={"csrf_token": token})
    assert deleted.status_code == 200 and "The rule was deleted." in deleted.text
    assert client.get("/api/v1/spam-rules", headers=people.admin.headers).json() == []


def test_only_admins_keep_the_filter(client: TestClient, db: Database, people: Personas) -> None:
    signed_in(client, db, people.agent)
    assert client.get("/admin/spam", headers=HTML).status_code == 403
    headers = people.agent.headers
    assert client.get("/api/v1/spam-settings", headers=headers).status_code == 403
    rule = {"field": "sender", "match": "equals", "value": "a@b.example", "action": "block"}
    assert client.post("/api/v1/spam-rules", json=rule, headers=headers).status_code == 403


def test_the_rules_api(client: TestClient, people: Personas) -> None:
    headers = people.admin.headers
    body = {"field": "domain", "match": "equals", "value": "casino.example", "action": "score", "weight": 4}
    created = client.post("/api/v1/spam-rules", json=body, headers=headers)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    zero = client.post("/api/v1/spam-rules", json={**body, "weight": 0}, headers=headers)
    assert zero.status_code == 422 and zero.json()["error"]["details"][0]["field"] == "weight"
    bad = client.post("/api/v1/spam-rules", json={**body, "match": "regex", "value": "(unclosed"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "value"
    unknown = client.post("/api/v1/spam-rules", json={**body, "field": "cc"}, headers=headers)
    assert unknown.status_code == 422
    patched = client.patch(f"/api/v1/spam-rules/{rule_id}", json={"action": "allow"}, headers=headers)
    assert patched.status_code == 200 and (patched.json()["action"], patched.json()["weight"]) == ("allow", 0)
    nulled = client.patch(f"/api/v1/spam-rules/{rule_id}", json={"value": None}, headers=headers)
    assert nulled.status_code == 422 and nulled.json()["error"]["details"][0]["field"] == "value"
    settings = client.patch("/api/v1/spam-settings", json={"threshold": 0}, headers=headers)
    assert settings.status_code == 422
    settings = client.patch("/api/v1/spam-settings", json={"threshold": 6.5}, headers=headers)
    assert settings.status_code == 200 and settings.json()["threshold"] == 6.5 and settings.json()["enabled"]
    assert client.delete(f"/api/v1/spam-rules/{rule_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/spam-rules/{rule_id}", headers=headers).status_code == 404
