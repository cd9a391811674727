"""The admin pages for chat widgets: the form, its field errors, the secret shown once."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from okno.channels.widget import service
from okno.channels.widget.identity import sign_identity
from okno.db import Database
from tests.factories.personas import Personas
from tests.web.test_pages import HTML, csrf, set_password, sign_in


def as_admin(client: TestClient, db: Database, people: Personas) -> str:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    return csrf(client.get("/admin/widgets", headers=HTML).text)


def form(token: str, people: Personas, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Shop",
        "enabled": "on",
        "allowed_origins": "https://Shop.example\n\nhttp://127.0.0.1:8000\n",
        "color": "#AA3300",
        "position": "left",
        "language": "ru",
        "greeting": "Здравствуйте!",
        "team_id": str(people.team_a),
        "ask_name": "on",
        "idle_close_minutes": "45",
        "topics-0-id": "",
        "topics-0-order": "2",
        "topics-0-label": "Problem with an order",
        "topics-0-team_id": str(people.team_b),
        "topics-1-id": "",
        "topics-1-order": "1",
        "topics-1-label": "Buy",
        "topics-1-team_id": str(people.team_a),
        "topics-2-id": "",
        "topics-2-order": "",
        "topics-2-label": "",
        "topics-2-team_id": "",
    } | changes


def shown(page: str, field: str) -> str:
    found = re.search(rf'id="{field}" readonly value="([^"]+)"', page)
    assert found, f"{field} is not shown"
    return html.unescape(found.group(1))


def secret_on(page: str) -> str:
    return shown(page, "identity-secret")


def test_admins_create_a_widget_and_see_its_secret_once(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    empty = client.get("/admin/widgets", headers=HTML)
    assert "No chat widgets yet" in empty.text and 'href="/admin/widgets"' in empty.text
    created = client.post("/admin/widgets", data=form(token, people))
    assert created.status_code == 200, created.text
    secret = secret_on(created.text)
    with db.read() as session:
        (widget,) = service.list_widgets(session, people.admin.actor)
        assert service.identity_secret(session, widget.id) == secret.encode()
    assert widget.allowed_origins == ("https://shop.example", "http://127.0.0.1:8000")
    assert (widget.color, widget.position, widget.language, widget.ask_name, widget.ask_email) == (
        "#aa3300",
        "left",
        "ru",
        True,
        False,
    )
    assert [(t.label, t.team_id) for t in widget.topics] == [
        ("Buy", people.team_a),
        ("Problem with an order", people.team_b),
    ]
    snippet = f'<script src="http://127.0.0.1:8000/widget.js" data-widget="{widget.key}" async></script>'
    assert shown(created.text, "embed-snippet") == snippet
    later = client.get(f"/admin/widgets/{widget.id}", headers=HTML).text
    assert secret not in later and shown(later, "embed-snippet") == snippet and 'id="identity-secret"' not in later
    listed = client.get("/admin/widgets", headers=HTML).text
    assert "https://shop.example" in listed and "Buy, Problem with an order" in listed

    rotated = client.post(f"/admin/widgets/{widget.id}/secret", data={"csrf_token": token})
    new_secret = secret_on(rotated.text)
    assert new_secret != secret
    with db.read() as session:
        assert service.identity_secret(session, widget.id) == new_secret.encode()
    signature = sign_identity(new_secret.encode(), email="anna@shop.example")
    assert service.verify_identity(new_secret.encode(), email="anna@shop.example", name=None, signature=signature)
    assert client.post(f"/admin/widgets/{widget.id}/secret", data={}).status_code == 403  # no CSRF token


def test_the_form_names_each_wrong_field(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    refused = client.post(
        "/admin/widgets",
        data=form(
            token,
            people,
            name="",
            allowed_origins="https://shop.example\nhttps://shop.example/checkout",
            color="red",
            idle_close_minutes="1",
            **{"topics-1-team_id": ""},
        ),
    )
    assert refused.status_code == 422
    page = refused.text
    assert 'id="name-error"' in page and 'id="color-error"' in page and 'id="idle_close_minutes-error"' in page
    assert "Line 2: enter a site as scheme://host[:port]" in page
    assert 'id="topics-1-team_id-error"' in page and "Choose the team that answers this topic." in page
    assert "https://shop.example/checkout" in page and "Problem with an order" in page  # what was typed stays
    with db.read() as session:
        assert service.list_widgets(session, people.admin.actor) == []


def test_editing_keeps_reorders_and_removes_topics(client: TestClient, db: Database, people: Personas) -> None:
    token = as_admin(client, db, people)
    client.post("/admin/widgets", data=form(token, people))
    with db.read() as session:
        (widget,) = service.list_widgets(session, people.admin.actor)
    buy, problem = widget.topics
    saved = client.post(
        f"/admin/widgets/{widget.id}",
        data=form(
            token,
            people,
            **{
                "topics-0-id": str(buy.id),
                "topics-0-order": "1",
                "topics-0-label": "Buy something",
                "topics-0-team_id": str(people.team_a),
                "topics-1-id": str(problem.id),
                "topics-1-order": "2",
                "topics-1-label": "Problem with an order",
                "topics-1-team_id": str(people.team_b),
                "topics-1-remove": "on",
                "topics-2-order": "",
                "topics-2-label": "Become a partner",
                "topics-2-team_id": str(people.team_b),
            },
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    with db.read() as session:
        after = service.get_widget(session, people.admin.actor, widget.id)
    assert (after.topics[0].id, after.topics[0].label) == (buy.id, "Buy something")
    assert [t.label for t in after.topics] == ["Buy something", "Become a partner"]
    assert after.enabled
    page = client.get(f"/admin/widgets/{widget.id}?done=saved", headers=HTML).text
    assert "The widget was saved." in page and "Become a partner" in page


def test_only_admins_see_the_widget_pages(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    assert client.get("/admin/widgets", headers=HTML).status_code == 403
    assert client.get("/admin/widgets/new", headers=HTML).status_code == 403
