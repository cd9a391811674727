"""The admin pages for tags and custom fields."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from okno.accounts.models import Role
from okno.db import Database
from tests.factories.personas import Personas, make_person
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in

API = "/api/v1"


def as_admin(client: TestClient, db: Database, people: Personas) -> str:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    return csrf(client.get("/admin/tags", headers=HTML).text)


def tag_id(client: TestClient, people: Personas, name: str) -> int:
    tags = client.get(f"{API}/tags", headers=people.admin.headers).json()
    return int(next(t["id"] for t in tags if t["name"] == name))


def field(client: TestClient, people: Personas, key: str) -> dict[str, Any]:
    fields: list[dict[str, Any]] = client.get(f"{API}/custom-fields", headers=people.admin.headers).json()
    return next(f for f in fields if f["key"] == key)


def test_the_pages_are_for_administrators(client: TestClient, db: Database, people: Personas) -> None:
    as_admin(client, db, people)
    for path, text in {"/admin/tags": "No tags yet", "/admin/custom-fields": "No custom fields yet"}.items():
        page = client.get(path, headers=HTML)
        assert page.status_code == 200 and text in page.text, path
    assert "New custom field" in client.get("/admin/custom-fields/new", headers=HTML).text

    boss = make_person(db, email="boss@okno.example.com", role=Role.supervisor)
    for person in (people.agent, boss):
        set_password(db, person.user_id)
        other = TestClient(client.app)
        sign_in(other, person.email)
        for path in ("/admin/tags", "/admin/custom-fields", "/admin/custom-fields/new"):
            refused = other.get(path, headers=HTML)
            assert refused.status_code == 403 and "Not allowed" in refused.text, (person.email, path)
        token = csrf(other.get("/inbox", headers=HTML).text)
        assert other.post("/admin/tags", data={"name": "x", "csrf_token": token}).status_code == 403


def test_tags_are_created_renamed_merged_and_deleted(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    both = make_ticket(db, people.agent.actor, tags=["refund", "refunds"])
    one = make_ticket(db, people.agent.actor, tags=["refunds"])
    closed_by_tag = make_ticket(db, people.agent.actor, tags=["billing"])
    listing = client.get("/admin/tags", headers=HTML).text
    assert re.search(r"refunds</span></a></td>\s*<td class=\"numeric\">2<", listing)

    bad = client.post("/admin/tags", data={"name": "no good!", "csrf_token": token})
    assert bad.status_code == 422 and 'id="name-error">Use letters, digits' in bad.text
    twice = client.post("/admin/tags", data={"name": "Billing", "csrf_token": token})
    assert twice.status_code == 422 and "This tag already exists." in twice.text
    made = client.post("/admin/tags", data={"name": "VIP customer", "csrf_token": token}, follow_redirects=False)
    assert made.headers["location"] == "/admin/tags?done=created"
    vip = tag_id(client, people, "vip-customer")

    taken = client.post(f"/admin/tags/{vip}", data={"name": "billing", "csrf_token": token})
    assert taken.status_code == 422 and "merge this tag into it" in taken.text
    renamed = client.post(f"/admin/tags/{vip}", data={"name": "vip", "csrf_token": token}, follow_redirects=False)
    assert renamed.headers["location"] == f"/admin/tags/{vip}?done=renamed"

    refunds = tag_id(client, people, "refunds")
    itself = client.post(f"/admin/tags/{refunds}/merge", data={"target": "refunds", "csrf_token": token})
    assert itself.status_code == 422 and "cannot be merged into itself" in itself.text
    unknown = client.post(f"/admin/tags/{refunds}/merge", data={"target": "nothing-like-it", "csrf_token": token})
    assert unknown.status_code == 422 and "Choose an existing tag" in unknown.text
    merged = client.post(f"/admin/tags/{refunds}/merge", data={"target": "refund", "csrf_token": token})
    assert merged.status_code == 200 and "2 tickets changed" in merged.text
    for ticket_id, removed_only in ((both, True), (one, False)):
        ticket = client.get(f"{API}/tickets/{ticket_id}", headers=people.admin.headers).json()
        assert ticket["tags"] == ["refund"]
        events = client.get(f"{API}/tickets/{ticket_id}/events", headers=people.admin.headers).json()
        assert events[-1]["kind"] == "tags_changed" and events[-1]["actor_id"] == people.admin.user_id
        assert events[-1]["data"] == {"added": [] if removed_only else ["refund"], "removed": ["refunds"]}
    assert "refunds" not in [t["name"] for t in client.get(f"{API}/tags", headers=people.admin.headers).json()]

    billing = tag_id(client, people, "billing")
    in_use = client.post(f"/admin/tags/{billing}/delete", data={"csrf_token": token})
    assert in_use.status_code == 409 and "Tickets carry this tag." in in_use.text
    assert client.get(f"{API}/tickets/{closed_by_tag}", headers=people.admin.headers).json()["tags"] == ["billing"]
    gone = client.post(f"/admin/tags/{vip}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.headers["location"] == "/admin/tags?done=deleted"
    assert client.get(f"/admin/tags/{vip}", headers=HTML).status_code == 404


def test_custom_fields_are_created_edited_deactivated_and_deleted(
    client: TestClient, db: Database, people: Personas
) -> None:
    token = as_admin(client, db, people)
    no_options = client.post(
        "/admin/custom-fields", data={"key": "product", "label": "Product", "field_type": "select", "csrf_token": token}
    )
    assert no_options.status_code == 422 and 'id="options-error">A list field needs at least one option.' in (
        no_options.text
    )
    bad_key = client.post(
        "/admin/custom-fields", data={"key": "Product!", "label": "", "field_type": "text", "csrf_token": token}
    )
    assert bad_key.status_code == 422 and 'id="key-error"' in bad_key.text and 'id="label-error"' in bad_key.text
    repeated = client.post(
        "/admin/custom-fields",
        data={"key": "product", "label": "P", "field_type": "select", "options": "a\na", "csrf_token": token},
    )
    assert repeated.status_code == 422 and 'id="options-error"' in repeated.text
    made = client.post(
        "/admin/custom-fields",
        data={
            "key": "product",
            "label": "Product",
            "field_type": "select",
            "options": "shoes\nbags\n",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"].endswith("?done=created")
    page = made.headers["location"].split("?")[0]
    again = client.post(
        "/admin/custom-fields", data={"key": "product", "label": "X", "field_type": "text", "csrf_token": token}
    )
    assert again.status_code == 422 and "A field with this key exists" in again.text

    ticket_id = make_ticket(db, people.agent.actor, custom_fields={"product": "shoes"})
    shown = client.get(page, headers=HTML).text
    assert "set on 1 ticket" in shown and "shoes\nbags" in shown
    dropping = client.post(page, data={"label": "Product line", "options": "bags\nhats", "csrf_token": token})
    assert dropping.status_code == 422 and "Tickets still hold these options, so they stay: shoes" in dropping.text
    saved = client.post(
        page, data={"label": "Product line", "options": "shoes\nhats", "csrf_token": token}, follow_redirects=False
    )
    assert saved.headers["location"] == f"{page}?done=saved"
    assert field(client, people, "product")["options"] == ["shoes", "hats"]

    refused = client.post(f"{page}/delete", data={"csrf_token": token})
    assert refused.status_code == 409 and "Deactivate it instead." in refused.text
    client.post(f"{page}/active", data={"active": "false", "csrf_token": token})
    assert field(client, people, "product")["is_active"] is False
    assert "Deactivated" in client.get("/admin/custom-fields", headers=HTML).text
    change = client.patch(
        f"{API}/tickets/{ticket_id}", json={"custom_fields": {"product": "hats"}}, headers=people.agent.headers
    )
    assert change.status_code == 422 and "deactivated" in change.json()["error"]["message"]
    kept = client.get(f"{API}/tickets/{ticket_id}", headers=people.admin.headers).json()
    assert kept["custom_fields"] == {"product": "shoes"}
    client.post(f"{page}/active", data={"active": "true", "csrf_token": token})
    assert field(client, people, "product")["is_active"] is True

    client.post(
        "/admin/custom-fields", data={"key": "notes", "label": "Notes", "field_type": "text", "csrf_token": token}
    )
    notes = field(client, people, "notes")
    gone = client.post(f"/admin/custom-fields/{notes['id']}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.headers["location"] == "/admin/custom-fields?done=deleted"
    assert client.get(f"/admin/custom-fields/{notes['id']}", headers=HTML).status_code == 404


def test_custom_fields_through_the_api(client: TestClient, db: Database, people: Personas) -> None:
    admin = people.admin.headers
    made = client.post(
        f"{API}/custom-fields",
        json={"key": "size", "label": "Size", "field_type": "number", "options": ["1"]},
        headers=admin,
    )
    assert made.status_code == 422 and made.json()["error"]["details"][0]["field"] == "options"
    made = client.post(
        f"{API}/custom-fields", json={"key": "size", "label": "Size", "field_type": "number"}, headers=admin
    )
    field_id = made.json()["id"]
    assert made.json()["is_active"] is True
    renamed = client.patch(f"{API}/custom-fields/{field_id}", json={"label": "Shoe size"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["label"] == "Shoe size"
    assert client.patch(f"{API}/custom-fields/{field_id}", json={"key": "x"}, headers=admin).status_code == 422
    agent = client.patch(f"{API}/custom-fields/{field_id}", json={"label": "Mine"}, headers=people.agent.headers)
    assert agent.status_code == 403
    make_ticket(db, people.agent.actor, custom_fields={"size": 42})
    assert client.delete(f"{API}/custom-fields/{field_id}", headers=admin).status_code == 409
