"""The ticket page's in-place work: tags, custom fields, attachments, mentions, merging, linked tickets."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from okno.accounts.permissions import Actor
from okno.db import Database
from okno.tickets import access, fields
from okno.tickets import service as tickets_service
from okno.tickets.models import MessageKind, Ticket, TicketEvent
from okno.tickets.schemas import CustomFieldCreate, MessageCreate
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket, reply, update
from tests.web.test_pages import HTML, csrf, set_password, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def signed_in(client: TestClient, db: Database, email: str, user_id: int) -> None:
    set_password(db, user_id)
    sign_in(client, email)


def stored(db: Database, ticket_id: int) -> Ticket:
    with db.read() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        return row


def event_kinds(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        query = sa.select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        return list(session.scalars(query))


def tags_of(db: Database, ticket_id: int) -> list[str]:
    with db.read() as session:
        return [t.name for t in access.get_ticket(session, Actor.system(), ticket_id).tags]


def test_tags_are_added_with_suggestions_and_removed(client: TestClient, db: Database, people: Personas) -> None:
    make_ticket(db, people.agent.actor, tags=["billing"])  # an existing tag to suggest
    ticket_id = make_ticket(db, people.agent.actor)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert '<option value="billing">' in page and "No tags yet." in page
    token = csrf(page)
    added = client.post(
        f"/tickets/{ticket_id}/tags", data={"add": "VIP, refund", "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == f"/tickets/{ticket_id}#tags"
    assert tags_of(db, ticket_id) == ["refund", "vip"]
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert 'aria-label="Remove tag vip"' in page and "changed the tags" in page
    client.post(f"/tickets/{ticket_id}/tags", data={"remove": "vip", "csrf_token": token})
    assert tags_of(db, ticket_id) == ["refund"]
    assert event_kinds(db, ticket_id).count("tags_changed") == 2
    bad = client.post(f"/tickets/{ticket_id}/tags", data={"add": "no way!", "csrf_token": token})
    assert bad.status_code == 422 and 'id="tag-error"' in bad.text and "A tag is one word" in bad.text
    assert 'aria-invalid="true" aria-describedby="tag-error"' in bad.text and 'value="no way!"' in bad.text
    assert tags_of(db, ticket_id) == ["refund"]
    forged = client.post(f"/tickets/{ticket_id}/tags", data={"add": "x", "csrf_token": "forged"})
    assert forged.status_code == 403


def make_fields(db: Database) -> None:
    with db.write() as session:
        for data in (
            CustomFieldCreate(key="order_total", label="Order total", field_type="number"),
            CustomFieldCreate(key="region", label="Region", field_type="select", options=["eu", "us"]),
            CustomFieldCreate(key="vip", label="VIP", field_type="boolean"),
            CustomFieldCreate(key="due", label="Due", field_type="date"),
            CustomFieldCreate(key="notes", label="Notes", field_type="text"),
        ):
            fields.create_custom_field(session, Actor.system(), data=data)


def test_custom_fields_edit_with_errors_next_to_the_field(client: TestClient, db: Database, people: Personas) -> None:
    make_fields(db)
    ticket_id = make_ticket(db, people.agent.actor)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert '<label for="cf-order_total">Order total</label>' in page and 'type="date"' in page
    token = csrf(page)
    form = {"cf_order_total": "abc", "cf_region": "eu", "cf_vip": "true", "cf_due": "31.03.2026", "csrf_token": token}
    bad = client.post(f"/tickets/{ticket_id}/fields", data=form)
    assert bad.status_code == 422
    assert 'id="cf-order_total-error">Enter a number, such as 42 or 3.5.' in bad.text
    assert 'id="cf-due-error">Enter a date such as 2026-03-31.' in bad.text
    assert 'value="abc"' in bad.text  # the agent's input is kept
    assert stored(db, ticket_id).custom_fields == {} and "field_changed" not in event_kinds(db, ticket_id)
    form.update({"cf_order_total": "129.5", "cf_due": "2026-03-31", "cf_notes": "Gift wrap"})
    saved = client.post(f"/tickets/{ticket_id}/fields", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert stored(db, ticket_id).custom_fields == {
        "order_total": 129.5,
        "region": "eu",
        "vip": True,
        "due": "2026-03-31",
        "notes": "Gift wrap",
    }
    assert event_kinds(db, ticket_id).count("field_changed") == 5
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "changed Order total" in page and '<option value="eu" selected>' in page
    cleared = client.post(f"/tickets/{ticket_id}/fields", data={"cf_region": "", "csrf_token": token})
    assert cleared.status_code == 200 and "region" not in stored(db, ticket_id).custom_fields
    wrong_option = client.post(f"/tickets/{ticket_id}/fields", data={"cf_region": "mars", "csrf_token": token})
    assert wrong_option.status_code == 422 and "Choose one of the options." in wrong_option.text


def test_reply_with_attachments_and_formatting(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    token = csrf(page)
    files = {"file": ("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf")}
    assert client.post("/attachments", files=files).status_code == 403  # no CSRF header
    pdf = client.post("/attachments", files=files, headers={"X-CSRF-Token": token})
    assert pdf.status_code == 201 and pdf.json()["size_label"] == "16 B"
    image = client.post(
        "/attachments", files={"file": ("photo.png", PNG, "image/png")}, headers={"X-CSRF-Token": token}
    )
    huge = client.post(
        "/attachments", files={"file": ("video.mp4", b"x" * (300 * 1024), "video/mp4")}, headers={"X-CSRF-Token": token}
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["message"].startswith("video.mp4 is too large: files can be at most 256 kB")
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "body": "Here is **your invoice**:\n\n- paid\n- [receipt](https://shop.example.com/r/1)",
            "attachment_ids": [pdf.json()["id"], image.json()["id"]],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "<strong>your invoice</strong>" in page and "<li>paid</li>" in page
    assert '<a href="https://shop.example.com/r/1" rel="noopener noreferrer nofollow">receipt</a>' in page
    assert f'<a href="/attachments/{pdf.json()["id"]}" download>invoice.pdf</a> <span class="muted">16 B</span>' in page
    assert f'<img src="/attachments/{image.json()["id"]}?inline=1" alt="photo.png"' in page
    assert f'<img src="/attachments/{pdf.json()["id"]}?inline=1"' not in page  # a thumbnail only for images
    download = client.get(f"/attachments/{pdf.json()['id']}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 invoice"
    assert download.headers["content-disposition"].startswith("attachment")
    other = TestClient(client.app)
    signed_in(other, db, people.other_agent.email, people.other_agent.user_id)
    assert other.get(f"/attachments/{pdf.json()['id']}", headers=HTML).status_code == 404  # not their team's


def test_a_refused_reply_keeps_its_attachments(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    token = csrf(page)
    seen = re.search(r'name="seen_message_id" value="(\d+)"', page)
    assert seen
    upload = client.post(
        "/attachments", files={"file": ("a.txt", b"hello", "text/plain")}, headers={"X-CSRF-Token": token}
    )
    reply(db, people.colleague.actor, ticket_id, "Faster")
    held = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "body": "Mine",
            "seen_message_id": seen.group(1),
            "attachment_ids": [upload.json()["id"]],
            "csrf_token": token,
        },
    )
    assert held.status_code == 422 and f'name="attachment_ids" value="{upload.json()["id"]}"' in held.text


def test_mentions_from_the_page_ring_the_bell(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, subject="Parcel lost")
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    token = csrf(page)
    assert client.get(f"/tickets/{ticket_id}/mentionable?q=co").json() == {
        "items": [{"id": people.colleague.user_id, "name": "Colleague"}]
    }
    assert client.get(f"/tickets/{ticket_id}/mentionable?q=bill").json() == {"items": []}  # team B cannot see it
    refused = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "body": "@Billing look",
            "kind": "note",
            "mentioned_user_ids": [people.other_agent.user_id],
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422 and "Billing cannot open this ticket" in refused.text
    assert ">@Billing look</textarea>" in refused.text
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={
            "body": "@Colleague can you check?",
            "kind": "note",
            "mentioned_user_ids": [people.colleague.user_id],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    message_anchor = sent.headers["location"].split("#")[1]
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert 'Mentioned: <span class="mention">@Colleague</span>' in page
    # A mention in a public reply is plain text.
    client.post(
        f"/tickets/{ticket_id}/messages",
        data={"body": "@Colleague hi", "mentioned_user_ids": [people.colleague.user_id], "csrf_token": token},
    )
    colleague = TestClient(client.app)
    signed_in(colleague, db, people.colleague.email, people.colleague.user_id)
    inbox = colleague.get("/inbox", headers=HTML).text
    assert re.search(r'<span class="bell-count" data-bell-count >1</span>', inbox)
    assert colleague.get("/notifications/unread").json() == {"unread": 1, "cap": 99}
    listing = colleague.get("/notifications", headers=HTML).text
    assert "Agent mentioned you on #" in listing and "Parcel lost" in listing
    link = re.search(r'href="(/notifications/\d+)"', listing)
    assert link
    opened = colleague.get(link.group(1), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/tickets/{ticket_id}#{message_anchor}"
    assert colleague.get("/notifications/unread").json()["unread"] == 0
    assert client.get(link.group(1), headers=HTML).status_code == 404  # someone else's


def test_merge_flow_confirms_different_customers(client: TestClient, db: Database, people: Personas) -> None:
    source_id = make_ticket(db, people.agent.actor, subject="Refund please", tags=["refund"])
    target_id = make_ticket(db, people.customer.actor, subject="Order 1042 refund")
    source, target = stored(db, source_id), stored(db, target_id)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    page = client.get(f"/tickets/{source_id}", headers=HTML).text
    assert f'href="/tickets/{source_id}/merge"' in page
    empty = client.get(f"/tickets/{source_id}/merge", headers=HTML).text
    assert "This customer has no other open tickets." in empty
    found = client.get(f"/tickets/{source_id}/merge", params={"q": f"#{target.number}"}, headers=HTML).text
    assert f'href="/tickets/{source_id}/merge?target={target_id}"' in found
    confirm = client.get(f"/tickets/{source_id}/merge", params={"target": target_id}, headers=HTML).text
    assert "Refund please" in confirm and "Order 1042 refund" in confirm
    assert "These tickets belong to different customers." in confirm and 'name="confirm_different_customers"' in confirm
    token = csrf(confirm)
    unconfirmed = client.post(f"/tickets/{source_id}/merge", data={"target_id": target_id, "csrf_token": token})
    assert unconfirmed.status_code == 422 and 'id="confirm-error"' in unconfirmed.text
    assert stored(db, source_id).merged_into_id is None
    merged = client.post(
        f"/tickets/{source_id}/merge",
        data={"target_id": target_id, "confirm_different_customers": "true", "csrf_token": token},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    assert merged.headers["location"] == f"/tickets/{target_id}?merged_from={source.number}"
    assert stored(db, source_id).merged_into_id == target_id
    landing = client.get(merged.headers["location"], headers=HTML).text
    assert f"Ticket #{source.number} was merged into this one." in landing
    assert f'Merged into this one: <a href="/tickets/{source_id}">#{source.number} Refund please</a>' in landing
    assert 'class="chip">refund' in landing
    old = client.get(f"/tickets/{source_id}", headers=HTML).text
    assert "Merged into another ticket." in old and f"#{target.number} Order 1042 refund" in old
    assert 'id="merge-link"' not in old


def test_follow_up_links_both_ways(client: TestClient, db: Database, people: Personas) -> None:
    ticket_id = make_ticket(db, people.customer.actor, subject="Broken kettle")
    reply(db, people.agent.actor, ticket_id, status="solved")
    update(db, people.agent.actor, ticket_id, status="closed")
    follow_up_id = reply(db, people.customer.actor, ticket_id, body="It broke again")
    previous, follow_up = stored(db, ticket_id), stored(db, follow_up_id)
    signed_in(client, db, people.agent.email, people.agent.user_id)
    later = client.get(f"/tickets/{follow_up_id}", headers=HTML).text
    assert f'Follow-up of <a href="/tickets/{ticket_id}">#{previous.number} Broken kettle</a>' in later
    earlier = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert f'Follow-ups: <a href="/tickets/{follow_up_id}">#{follow_up.number}</a>' in earlier
    assert "A follow-up ticket was opened" in earlier


def test_the_mentioned_agents_live_stream_carries_the_mention(
    client: TestClient, db: Database, people: Personas
) -> None:
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a)
    signed_in(client, db, people.colleague.email, people.colleague.user_id)
    with client.websocket_connect("/live", headers={"origin": "http://testserver"}) as socket:
        with db.write() as session:
            data = MessageCreate(
                body="@Colleague", kind=MessageKind.note, mentioned_user_ids=[people.colleague.user_id]
            )
            tickets_service.add_message(session, people.agent.actor, ticket_id, data=data)
        event = socket.receive_json()
        assert event["kind"] == "note_added" and event["data"]["mentioned_user_ids"] == [people.colleague.user_id]
        assert client.get("/notifications/unread").json()["unread"] == 1


def test_notifications_page_in_russian(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id, locale="ru")
    sign_in(client, people.agent.email)
    page = client.get("/notifications", headers=HTML).text
    assert "<h1>Уведомления</h1>" in page and "Уведомлений пока нет" in page
    ticket_id = make_ticket(db, people.agent.actor)
    ticket = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Объединить с…" in ticket and "Прикрепить файлы" in ticket and "Меток пока нет." in ticket
