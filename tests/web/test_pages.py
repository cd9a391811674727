"""The workspace pages over HTTP: sign-in, CSRF, the inbox, the ticket page, Russian."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.accounts.schemas import UserUpdate
from okno.clock import FrozenClock
from okno.db import Database
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket

PASSWORD = "agent-password-1"
HTML = {"accept": "text/html"}


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def set_password(db: Database, user_id: int, **changes: object) -> None:
    with db.write() as session:
        accounts_service.update_user(
            session,
            Actor.system("tests"),
            user_id,
            changes=UserUpdate(password=PASSWORD, **changes),  # type: ignore[arg-type]
        )


def sign_in(client: TestClient, email: str, password: str = PASSWORD, *, next: str = "/inbox") -> None:
    form = client.get(f"/sign-in?next={next}", headers=HTML)
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf(form.text), "next": next},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next
    cookie = response.headers["set-cookie"]
    assert "okno_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_pages_need_a_session_and_sign_in_works(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    first = client.get("/tickets/1", headers=HTML, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=/tickets/1"
    wrong = client.get("/sign-in", headers=HTML)
    refused = client.post(
        "/sign-in", data={"email": people.agent.email, "password": "nope", "csrf_token": csrf(wrong.text)}
    )
    assert refused.status_code == 401 and "Wrong email or password." in refused.text
    forged = client.post("/sign-in", data={"email": people.agent.email, "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    sign_in(client, people.agent.email, next="/inbox?view=my_teams")
    inbox = client.get("/inbox", headers=HTML)
    assert inbox.status_code == 200 and "My open" in inbox.text and people.agent.email not in inbox.text
    assert client.get("/sign-in?next=//evil.example.com", follow_redirects=False).headers["location"] == "/inbox"


def test_inbox_lists_views_with_counts_and_opens_tickets(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    mine = make_ticket(
        db, people.agent.actor, subject="Refund for order 77", team_id=people.team_a, assignee_id=people.agent.user_id
    )
    make_ticket(db, people.agent.actor, subject="Unowned question")
    sign_in(client, people.agent.email)
    page = client.get("/inbox?view=mine", headers=HTML).text
    assert "Refund for order 77" in page and "Unowned question" not in page
    assert re.search(r'data-view-count="mine">1<', page) and re.search(r'data-view-count="unassigned">1<', page)
    unassigned = client.get("/inbox?view=unassigned", headers=HTML).text
    assert "Unowned question" in unassigned
    ticket = client.get(f"/tickets/{mine}", headers=HTML)
    assert ticket.status_code == 200 and "Refund for order 77" in ticket.text and "It has not arrived." in ticket.text


def test_the_ticket_page_tells_since_when_the_ticket_is_in_its_status(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor, team_id=people.team_a, assignee_id=people.agent.user_id)
    clock.advance(timedelta(hours=2, minutes=5))
    sign_in(client, people.agent.email)
    assert "in this status for 2 hr 5 min" in client.get(f"/tickets/{ticket_id}", headers=HTML).text


def test_reply_and_note_from_the_ticket_page(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor)
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    token = csrf(page)
    no_token = client.post(f"/tickets/{ticket_id}/messages", data={"body": "Hi"}, headers=HTML)
    assert no_token.status_code == 403
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={"body": "Sent again <b>today</b>", "status": "pending", "csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/tickets/{ticket_id}#message-")
    client.post(f"/tickets/{ticket_id}/messages", data={"body": "VIP", "kind": "note", "csrf_token": token})
    after = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert "Sent again &lt;b&gt;today&lt;/b&gt;" in after and "Internal note" in after
    assert 'class="badge status-pending"' in after
    empty = client.post(f"/tickets/{ticket_id}/messages", data={"body": " ", "csrf_token": token})
    assert empty.status_code == 422 and "Write a message first." in empty.text


def test_customer_content_is_inert(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    html = (
        '<p hx-get="/sign-out" hx-trigger="load" onclick="steal()" style="display:none" data-x="1">'
        "Hi<script>alert(1)</script></p>"
    )
    ticket_id = make_ticket(db, people.customer.actor, message={"body_html": html})
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    body = page.split('class="message-body" hx-disable>')[1].split("</div>")[0]
    assert body == "<p>Hi</p>"


def test_russian_interface_and_account_settings(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id, locale="ru", time_zone="Europe/Moscow")
    for _n in range(5):
        make_ticket(db, people.agent.actor, assignee_id=people.agent.user_id, team_id=people.team_a)
    sign_in(client, people.agent.email)
    page = client.get("/inbox?view=mine", headers=HTML).text
    assert '<html lang="ru">' in page and "Мои открытые" in page and "5 обращений" in page
    account = client.get("/account", headers=HTML).text
    saved = client.post(
        "/account", data={"name": "Агент", "locale": "en", "time_zone": "Mars/Base", "csrf_token": csrf(account)}
    )
    assert saved.status_code == 422 and 'aria-invalid="true"' in saved.text
    client.post(
        "/account", data={"name": "Agent", "locale": "en", "time_zone": "Europe/London", "csrf_token": csrf(account)}
    )
    assert "My open" in client.get("/inbox", headers=HTML).text


def test_password_change_ends_other_sessions_and_sign_out(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    other = TestClient(client.app)
    sign_in(other, people.agent.email)
    sign_in(client, people.agent.email)
    token = csrf(client.get("/account", headers=HTML).text)
    wrong = client.post(
        "/account/password", data={"current_password": "x", "new_password": "brand-new-pass-1", "csrf_token": token}
    )
    assert wrong.status_code == 422
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "brand-new-pass-1", "csrf_token": token},
    )
    assert changed.status_code == 200 and "other sessions were signed out" in changed.text
    assert other.get("/inbox", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get("/inbox", headers=HTML).status_code == 200
    client.post("/sign-out", data={"csrf_token": token})
    assert client.get("/inbox", headers=HTML, follow_redirects=False).status_code == 303


def test_error_pages_are_pages(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    missing = client.get("/tickets/987654", headers=HTML)
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text and "Traceback" not in missing.text
    api = client.get("/api/v1/tickets/987654", headers={"Authorization": f"Bearer {people.agent.token}"})
    assert api.json()["error"]["code"] == "not_found"
    for address in ("/tickets/abc", f"/tickets/{2**64}", "/customers/0"):  # ids no page can have
        malformed = client.get(address, headers=HTML)
        assert malformed.status_code == 404 and "There is no such page." in malformed.text, address
    russian = client.get("/tickets/abc", headers={**HTML, "accept-language": "ru"})
    assert "Такой страницы нет." in russian.text
    bad_query = client.get("/tickets/987654", params={"merged_from": "x"}, headers=HTML)
    assert bad_query.status_code == 422 and "The request was not valid." in bad_query.text
    api = client.get("/api/v1/tickets/abc", headers={"Authorization": f"Bearer {people.agent.token}"})
    assert api.status_code == 422 and api.json()["error"]["details"][0]["field"] == "ticket_id"


def test_live_socket_checks_origin_and_session(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/live", headers={"origin": "http://testserver"}):
        pass  # no session
    sign_in(client, people.agent.email)
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/live", headers={"origin": "https://evil.example.com"}),
    ):
        pass  # another site holding the agent's cookie
    with client.websocket_connect("/live", headers={"origin": "http://testserver"}) as socket:
        make_ticket(db, people.agent.actor, subject="Live one")
        event = socket.receive_json()
        assert event["kind"] == "created" and "facts" not in event


def test_properties_change_in_place_and_search(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor, subject="Lost parcel to Kazan")
    make_ticket(db, people.agent.actor, subject="Invoice question")
    sign_in(client, people.agent.email)
    token = csrf(client.get(f"/tickets/{ticket_id}", headers=HTML).text)
    mine = client.post(
        f"/tickets/{ticket_id}/properties", data={"assignee": "me", "csrf_token": token}, follow_redirects=False
    )
    assert mine.status_code == 303
    changed = client.post(
        f"/tickets/{ticket_id}/properties",
        data={"priority": "urgent", "team": str(people.team_a), "status": "pending", "csrf_token": token},
    )
    assert changed.status_code == 200
    api = client.get(f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {people.agent.token}"}).json()
    assert (api["assignee_id"], api["priority"], api["team_id"], api["status"]) == (
        people.agent.user_id,
        "urgent",
        people.team_a,
        "pending",
    )
    bad = client.post(f"/tickets/{ticket_id}/properties", data={"status": "new", "csrf_token": token})
    assert bad.status_code == 422 and "pending ticket cannot become new" in bad.text
    found = client.get("/inbox", params={"q": "kazan"}, headers=HTML).text
    assert "Lost parcel to Kazan" in found and "Invoice question" not in found


def test_heartbeats_need_the_csrf_header_and_show_colleagues(
    client: TestClient, db: Database, people: Personas
) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    token = csrf(client.get("/inbox", headers=HTML).text)
    assert client.post("/presence/heartbeat", data={"idle": "false"}).status_code == 403
    beat = client.post("/presence/heartbeat", data={"idle": "false"}, headers={"X-CSRF-Token": token})
    assert beat.json() == {"status": "online"}
    page = client.get("/inbox", headers=HTML).text
    assert 'data-presence="online"' in page and '<option value="online" selected>' in page
    client.post("/presence", data={"status": "away", "csrf_token": token})
    assert '<option value="away" selected>' in client.get("/inbox", headers=HTML).text


def test_remote_images_wait_until_asked(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    html = '<p>Look</p><img src="https://tracker.example.com/pixel.gif?u=anna"><img src="cid:logo">'
    ticket_id = make_ticket(db, people.customer.actor, message={"body_html": html})
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    assert ' src="https://tracker.example.com' not in page
    assert (
        'data-remote-src="https://tracker.example.com/pixel.gif?u=anna"' in page and "1 remote image is hidden." in page
    )


def test_page_warns_when_a_colleague_replied_meanwhile(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    ticket_id = make_ticket(db, people.agent.actor)
    sign_in(client, people.agent.email)
    page = client.get(f"/tickets/{ticket_id}", headers=HTML).text
    seen = re.search(r'name="seen_message_id" value="(\d+)"', page)
    assert seen
    client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "Colleague was faster"},
        headers={"Authorization": f"Bearer {people.colleague.token}"},
    )
    form = {"body": "My slower answer", "seen_message_id": seen.group(1), "csrf_token": csrf(page)}
    held = client.post(f"/tickets/{ticket_id}/messages", data=form)
    assert held.status_code == 422 and "A colleague replied while you were writing" in held.text
    assert ">My slower answer</textarea>" in held.text  # the draft is kept
    newer = re.search(r'name="seen_message_id" value="(\d+)"', held.text)
    assert newer and int(newer.group(1)) > int(seen.group(1))
    sent = client.post(
        f"/tickets/{ticket_id}/messages", data={**form, "seen_message_id": newer.group(1)}, follow_redirects=False
    )
    assert sent.status_code == 303
