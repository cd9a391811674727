"""The customer and organization pages, the customer card beside a ticket, and the new-ticket page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from okno.accounts import web_sessions
from okno.customers import service
from okno.customers.schemas import CustomerCreate, IdentityIn, OrganizationCreate
from okno.db import Database
from tests.factories.personas import Personas, make_customer
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in

API = "/api/v1"


def _customer(db: Database, people: Personas, **fields: object) -> int:
    data = {"name": "Мария Иванова", "email": "maria@romashka.example.com", **fields}
    with db.write() as session:
        return service.create_customer(session, people.agent.actor, data=CustomerCreate.model_validate(data)).id


def _signed_in(client: TestClient, db: Database, who: object) -> None:
    set_password(db, who.user_id)  # type: ignore[attr-defined]
    sign_in(client, who.email)  # type: ignore[attr-defined]


def test_customer_page_shows_the_card_tickets_and_notes(client: TestClient, db: Database, people: Personas) -> None:
    with db.write() as session:
        org = service.create_organization(
            session, people.agent.actor, data=OrganizationCreate(name="Ромашка", plan="priority")
        ).id
    customer_id = _customer(
        db,
        people,
        organization_id=org,
        identities=[IdentityIn(kind="phone", value="+7 999 123-45-67")],
        attributes={"city": "Казань"},
    )
    older = make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Invoice for March", channel="email")
    newer = make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Call about delivery", channel="phone")
    hidden = make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Billing only", team_id=people.team_b)
    _signed_in(client, db, people.agent)
    page = client.get(f"/customers/{customer_id}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Мария Иванова" in text and "+79991234567" in text and "maria@romashka.example.com" in text
    assert f'href="/organizations/{org}"' in text and "Ромашка" in text and "Priority plan" in text
    assert "Казань" in text and "3 tickets" in text
    assert text.index("Call about delivery") < text.index("Invoice for March")  # newest first
    assert f'href="/tickets/new?customer_id={customer_id}"' in text and "Merge into…" in text
    assert {older, newer, hidden}
    token = csrf(text)
    empty = client.post(f"/customers/{customer_id}/notes", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 422 and "Write the note first." in empty.text
    added = client.post(
        f"/customers/{customer_id}/notes", data={"body": "Prefers calls after 18:00", "csrf_token": token}
    )
    assert added.status_code == 200 and "Prefers calls after 18:00" in added.text and "Note saved." in added.text
    note_id = int(re.findall(r'id="note-(\d+)"', added.text)[0])
    client.cookies.clear()
    _signed_in(client, db, people.colleague)
    token = csrf(client.get(f"/customers/{customer_id}", headers=HTML).text)
    edited = client.post(
        f"/customers/{customer_id}/notes/{note_id}", data={"body": "Prefers calls after 19:00", "csrf_token": token}
    )
    assert edited.status_code == 200 and "Prefers calls after 19:00" in edited.text
    assert "Edited by Colleague" in edited.text and "1 earlier version" in edited.text
    earlier = edited.text.split('class="revisions"')[1].split("</details>")[0]
    assert "Prefers calls after 18:00" in earlier and "Agent" in earlier
    with db.read() as session:
        revisions = service.note_revisions(session, people.admin.actor, customer_id, note_id)
        assert [r.body for r in revisions] == ["Prefers calls after 18:00"]


def test_limited_agents_see_only_their_tickets_on_the_card(client: TestClient, db: Database, people: Personas) -> None:
    customer_id = _customer(db, people)
    make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Support question", team_id=people.team_a)
    make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Billing question", team_id=people.team_b)
    _signed_in(client, db, people.other_agent)
    text = client.get(f"/customers/{customer_id}", headers=HTML).text
    assert "Billing question" in text and "Support question" not in text and "1 ticket" in text


def test_editing_a_customer_in_place(client: TestClient, db: Database, people: Personas) -> None:
    customer_id = _customer(db, people, attributes={"vip": True, "city": "Kazan"})
    other = make_customer(db, email="taken@example.com")
    with db.write() as session:
        org = service.create_organization(session, people.agent.actor, data=OrganizationCreate(name="Acme")).id
    _signed_in(client, db, people.agent)
    token = csrf(client.get(f"/customers/{customer_id}", headers=HTML).text)
    form = {
        "name": "Maria Ivanova",
        "plan": "standard",
        "organization_id": str(org),
        "attributes": "vip: yes\ncity: Moscow\ncontract: A-17",
        "new_identity": "+7 (912) 000-00-01",
        "csrf_token": token,
    }
    saved = client.post(f"/customers/{customer_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    read = client.get(f"{API}/customers/{customer_id}", headers=people.agent.headers).json()
    assert read["name"] == "Maria Ivanova" and read["plan"] == "standard" and read["organization_id"] == org
    assert read["attributes"] == {
        "vip": True,
        "city": "Moscow",
        "contract": "A-17",
    }  # an unchanged value keeps its type
    assert "+79120000001" in {i["value"] for i in read["identities"]}
    bad = client.post(
        f"/customers/{customer_id}",
        data={**form, "attributes": "no separator here", "new_identity": ""},
    )
    assert bad.status_code == 422 and 'id="attributes-error"' in bad.text and 'aria-invalid="true"' in bad.text
    not_email = client.post(f"/customers/{customer_id}", data={**form, "new_identity": "maria@"})
    assert not_email.status_code == 422 and 'id="new_identity-error"' in not_email.text
    short = client.post(f"/customers/{customer_id}", data={**form, "new_identity": "12-3"})
    assert short.status_code == 422 and "at least five digits" in short.text
    taken = client.post(f"/customers/{customer_id}", data={**form, "new_identity": "taken@example.com"})
    assert taken.status_code == 422 and "belongs to another customer" in taken.text
    unchanged = client.get(f"{API}/customers/{customer_id}", headers=people.agent.headers).json()
    assert unchanged["attributes"] == read["attributes"]  # nothing half-written
    assert other


def test_light_agents_read_and_customers_are_refused(client: TestClient, db: Database, people: Personas) -> None:
    customer_id = _customer(db, people)
    other = make_customer(db, email="other@example.com")
    _signed_in(client, db, people.light_agent)
    page = client.get(f"/customers/{customer_id}", headers=HTML)
    assert page.status_code == 200 and "Мария Иванова" in page.text
    assert 'id="add-note"' not in page.text and "Merge into…" not in page.text and "Edit customer" not in page.text
    assert 'href="/tickets/new"' not in page.text
    token = csrf(page.text)
    assert client.post(f"/customers/{customer_id}/notes", data={"body": "x", "csrf_token": token}).status_code == 403
    edit = client.post(f"/customers/{customer_id}", data={"name": "Nope", "csrf_token": token}, headers=HTML)
    assert edit.status_code == 403
    merge = client.post(f"/customers/{customer_id}/merge", data={"into_id": other, "csrf_token": token}, headers=HTML)
    assert merge.status_code == 403
    assert client.get(f"/customers/{customer_id}/merge", headers=HTML).status_code == 403
    assert client.get("/tickets/new", headers=HTML).status_code == 403
    assert client.get("/customers/987654", headers=HTML).status_code == 404
    assert client.get("/organizations/987654", headers=HTML).status_code == 404
    # A customer's account cannot use the workspace at all: even a session of theirs is no session here.
    client.cookies.clear()
    with db.write() as session:
        from okno.accounts import service as accounts_service

        user = accounts_service.find_user_by_email(session, people.customer.email)
        assert user is not None
        _row, session_token = web_sessions.start(session, user, remember=False, user_agent="test")
    client.cookies.set("okno_session", session_token)
    for path in ("/customers", f"/customers/{customer_id}", "/organizations", "/tickets/new"):
        refused = client.get(path, headers=HTML, follow_redirects=False)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in"), path


def test_customer_list_searches_and_pages(client: TestClient, db: Database, people: Personas) -> None:
    _customer(db, people, identities=[IdentityIn(kind="phone", value="+7 999 123-45-67")])
    for n in range(55):
        make_customer(db, email=f"bulk{n:02d}@example.com", name=f"Bulk {n:02d}")
    _signed_in(client, db, people.agent)
    first = client.get("/customers", headers=HTML).text
    assert "Bulk 54" in first and "Next page" in first
    cursor = re.search(r'href="/customers\?cursor=(\d+)"', first)
    assert cursor
    second = client.get(f"/customers?cursor={cursor.group(1)}", headers=HTML).text
    assert "Bulk 54" not in second and "Мария Иванова" in second
    by_phone = client.get("/customers", params={"q": "8 (999) 123-45-67"}, headers=HTML).text
    assert "Мария Иванова" in by_phone and "Bulk" not in by_phone
    by_email = client.get("/customers", params={"q": "ROMASHKA"}, headers=HTML).text
    assert "Мария Иванова" in by_email
    nothing = client.get("/customers", params={"q": "zzz"}, headers=HTML).text
    assert "No customer matches" in nothing


def test_merge_from_the_page_with_a_confirmation(client: TestClient, db: Database, people: Personas) -> None:
    source = _customer(db, people, name="Maria (phone)", email="maria.home@example.com")
    target = _customer(db, people, name="Maria Ivanova", email="maria@work.example.com")
    ticket_id = make_ticket(db, people.agent.actor, customer_id=source, subject="Called about a refund")
    _signed_in(client, db, people.agent)
    search = client.get(f"/customers/{source}/merge", params={"q": "work.example"}, headers=HTML)
    assert search.status_code == 200 and f'href="/customers/{source}/merge?into={target}"' in search.text
    confirm = client.get(f"/customers/{source}/merge?into={target}", headers=HTML).text
    assert "Merged and retired" in confirm and "Stays" in confirm
    assert "maria.home@example.com" in confirm and "maria@work.example.com" in confirm
    token = csrf(confirm)
    done = client.post(
        f"/customers/{source}/merge", data={"into_id": str(target), "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/customers/{target}?merged_from={source}"
    page = client.get(done.headers["location"], headers=HTML).text
    assert "was merged into this one" in page and "Called about a refund" in page
    assert "Merged records" in page and f"(#{source}, merged " in page and "by Agent" in page
    assert "maria.home@example.com" in page
    old = client.get(f"/customers/{source}", headers=HTML, follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"].startswith(f"/customers/{target}")
    again = client.post(f"/customers/{source}/merge", data={"into_id": str(target), "csrf_token": token})
    assert again.status_code == 409 and "already merged" in again.text
    events = client.get(f"{API}/tickets/{ticket_id}/events", headers=people.agent.headers).json()
    assert events[-1]["kind"] == "customer_changed"
    timeline = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "merged the customer&#39;s records" in timeline


def test_ticket_sidebar_links_to_the_customer_with_other_tickets_and_notes(
    client: TestClient, db: Database, people: Personas
) -> None:
    customer_id = _customer(db, people)
    subjects = [f"Earlier question {n}" for n in range(7)]
    for subject in subjects:
        make_ticket(db, people.agent.actor, customer_id=customer_id, subject=subject)
    current = make_ticket(db, people.agent.actor, customer_id=customer_id, subject="Today's call")
    _signed_in(client, db, people.agent)
    page = client.get(f"/tickets/{current}", headers=HTML).text
    card = page.split('class="card customer-card"')[1].split("</section>")[0]
    assert f'href="/customers/{customer_id}"' in card
    assert "Today&#39;s call" not in card and "Earlier question 6" in card and "Earlier question 1" not in card
    assert card.count('class="badge status-new"') == 5 and "No notes yet." in card
    added = client.post(
        f"/customers/{customer_id}/notes",
        data={"body": "Speaks Russian and Tatar", "next": f"/tickets/{current}", "csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"].startswith(f"/tickets/{current}#customer-note-")
    assert "Speaks Russian and Tatar" in client.get(f"/tickets/{current}", headers=HTML).text
    evil = client.post(
        f"/customers/{customer_id}/notes",
        data={"body": "x", "next": "//evil.example.com/", "csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert evil.headers["location"].startswith(f"/customers/{customer_id}")


def test_organizations_list_page_create_and_edit(client: TestClient, db: Database, people: Personas) -> None:
    _signed_in(client, db, people.agent)
    listing = client.get("/organizations", headers=HTML)
    assert listing.status_code == 200 and "No organizations yet" in listing.text
    token = csrf(listing.text)
    empty = client.post("/organizations", data={"name": " ", "csrf_token": token})
    assert empty.status_code == 422 and 'id="name-error"' in empty.text
    bad_domain = client.post("/organizations", data={"name": "Acme", "domains": "not a domain", "csrf_token": token})
    assert bad_domain.status_code == 422 and 'id="domains-error"' in bad_domain.text
    created = client.post(
        "/organizations",
        data={
            "name": "Acme",
            "domains": "acme.example.com, @acme.example.org",
            "plan": "standard",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    org_id = int(created.headers["location"].split("/")[2].split("?")[0])
    taken = client.post("/organizations", data={"name": "Acme", "csrf_token": token})
    assert taken.status_code == 422 and "exists already" in taken.text
    member = make_customer(db, email="ivan@acme.example.com", name="Ivan")
    make_ticket(db, people.agent.actor, customer_id=member, subject="Acme invoice")
    page = client.get(f"/organizations/{org_id}", headers=HTML).text
    assert "Ivan" in page and "Acme invoice" in page and "acme.example.com, acme.example.org" in page
    assert "1 customer" in page
    edited = client.post(
        f"/organizations/{org_id}",
        data={
            "name": "Acme Ltd",
            "domains": "acme.example.com",
            "plan": "priority",
            "shared_tickets": "true",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303
    org = client.get(f"{API}/organizations/{org_id}", headers=people.agent.headers).json()
    assert (org["name"], org["domains"], org["plan"], org["shared_tickets"]) == (
        "Acme Ltd",
        ["acme.example.com"],
        "priority",
        True,
    )
    client.cookies.clear()
    _signed_in(client, db, people.light_agent)
    light = client.get(f"/organizations/{org_id}", headers=HTML).text
    assert "Acme Ltd" in light and "Edit organization" not in light
    assert client.post(f"/organizations/{org_id}", data={"name": "X", "csrf_token": csrf(light)}).status_code == 403


def test_new_ticket_page_validates_and_creates(client: TestClient, db: Database, people: Personas) -> None:
    customer_id = _customer(db, people)
    _signed_in(client, db, people.agent)
    inbox = client.get("/inbox", headers=HTML).text
    assert 'href="/tickets/new"' in inbox and 'href="/customers"' in inbox
    page = client.get("/tickets/new", headers=HTML)
    assert page.status_code == 200 and 'name="new_email"' in page.text
    token = csrf(page.text)
    found = client.get("/tickets/new", params={"customer_q": "romashka"}, headers=HTML).text
    assert f'name="customer_id" value="{customer_id}"' in found
    invalid = client.post(
        "/tickets/new",
        data={"subject": "", "body": "", "new_email": "not-an-address", "tags": "ok bad!tag", "csrf_token": token},
    )
    assert invalid.status_code == 422
    for field in ("new_email", "subject", "body", "tags"):
        assert f'id="{field}-error"' in invalid.text, field
    nobody = client.post("/tickets/new", data={"subject": "Hi", "body": "Hello", "csrf_token": token})
    assert nobody.status_code == 422 and 'id="customer-error"' in nobody.text
    wrong_team = client.post(
        "/tickets/new",
        data={
            "customer_id": str(customer_id),
            "subject": "Hi",
            "body": "Hello",
            "team": str(people.team_b),
            "assignee": str(people.agent.user_id),
            "csrf_token": token,
        },
    )
    assert wrong_team.status_code == 422 and 'id="assignee-error"' in wrong_team.text
    prefilled = client.get(f"/tickets/new?customer_id={customer_id}", headers=HTML).text
    assert f'<input type="hidden" name="customer_id" value="{customer_id}">' in prefilled
    phoned = client.post(
        "/tickets/new",
        data={
            "customer_id": str(customer_id),
            "subject": "Called: parcel is late",
            "channel": "phone",
            "first_message": "customer",
            "body": "The parcel 1042 has not arrived; she asks for a call back.",
            "priority": "high",
            "team": str(people.team_a),
            "assignee": str(people.agent.user_id),
            "tags": "delivery, call-back",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert phoned.status_code == 303
    ticket_id = int(phoned.headers["location"].split("/")[-1])
    ticket = client.get(f"{API}/tickets/{ticket_id}", headers=people.agent.headers).json()
    assert (ticket["channel"], ticket["priority"], ticket["status"], ticket["customer"]["id"]) == (
        "phone",
        "high",
        "open",
        customer_id,
    )
    assert ticket["tags"] == ["call-back", "delivery"] and ticket["assignee_id"] == people.agent.user_id
    messages = client.get(f"{API}/tickets/{ticket_id}/messages", headers=people.agent.headers).json()
    assert [(m["kind"], m["author"]["type"]) for m in messages] == [("inbound", "customer")]
    outbound = client.post(
        "/tickets/new",
        data={
            "new_email": "new.person@example.com",
            "new_name": "New Person",
            "subject": "Your order is ready",
            "channel": "email",
            "first_message": "agent",
            "body": "Hello! Your order is ready for pickup.",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert outbound.status_code == 303
    ticket_id = int(outbound.headers["location"].split("/")[-1])
    ticket = client.get(f"{API}/tickets/{ticket_id}", headers=people.agent.headers).json()
    assert ticket["status"] == "pending" and ticket["customer"]["email"] == "new.person@example.com"
    messages = client.get(f"{API}/tickets/{ticket_id}/messages", headers=people.agent.headers).json()
    assert [(m["kind"], m["author"]) for m in messages] == [("reply", {"type": "user", "id": people.agent.user_id})]
    events = client.get(f"{API}/tickets/{ticket_id}/events", headers=people.agent.headers).json()
    assert [e["kind"] for e in events] == ["created", "reply_sent"]


def test_customers_may_not_open_outbound_tickets(client: TestClient, people: Personas) -> None:
    refused = client.post(
        f"{API}/tickets",
        json={"subject": "x", "message": {"body": "y"}, "outbound": True},
        headers=people.customer.headers,
    )
    assert refused.status_code == 403 and refused.json()["error"]["details"][0]["field"] == "outbound"
