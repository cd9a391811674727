"""The webhooks' JSON API and admin pages."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from okno.db import Database
from okno.runtime import Runtime
from tests.automation.webhook_receiver import Receiver
from tests.factories.personas import Personas
from tests.factories.tickets import make_ticket
from tests.web.test_pages import HTML, csrf, set_password, sign_in


def test_admins_manage_subscriptions_and_read_the_delivery_log(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    headers = people.admin.headers
    refused = client.post("/api/v1/webhooks", json={"name": "CRM", "url": receiver.url()}, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "url"
    unknown = client.post(
        "/api/v1/webhooks", json={"name": "CRM", "url": "https://crm.example", "event_kinds": ["nope"]}, headers=headers
    )
    assert unknown.status_code == 422
    created = client.post(
        "/api/v1/webhooks",
        json={"name": "CRM", "url": receiver.url(), "allow_private_network": True, "secret": "my-own-secret-0123"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["secret"] == "my-own-secret-0123" and subscription["last_delivery"] is None
    sid = subscription["id"]
    assert "secret" not in client.get(f"/api/v1/webhooks/{sid}", headers=headers).json()

    pinged = client.post(f"/api/v1/webhooks/{sid}/ping", headers=headers)
    assert pinged.status_code == 202 and pinged.json()["status"] == "pending"
    runtime.worker.run_pending()
    assert json.loads(receiver.received[0].body)["type"] == "ping"
    listed = client.get("/api/v1/webhooks", headers=headers).json()
    assert listed[0]["last_delivery"]["status"] == "delivered"

    page = client.get(f"/api/v1/webhooks/{sid}/deliveries", headers=headers).json()["items"]
    again = client.post(f"/api/v1/webhooks/{sid}/deliveries/{page[0]['id']}/redeliver", headers=headers)
    assert again.status_code == 202 and again.json()["event_uid"] == page[0]["event_uid"]

    rotated = client.post(f"/api/v1/webhooks/{sid}/secret", headers=headers)
    assert rotated.status_code == 200 and rotated.json()["secret"].startswith("whsec_")
    patched = client.patch(f"/api/v1/webhooks/{sid}", json={"event_kinds": ["status_changed"]}, headers=headers)
    assert patched.json()["event_kinds"] == ["status_changed"] and patched.json()["allow_private_network"]
    emptied = client.patch(f"/api/v1/webhooks/{sid}", json={"event_kinds": None}, headers=headers)
    assert emptied.status_code == 422 and emptied.json()["error"]["details"][0]["field"] == "event_kinds"

    assert client.get("/api/v1/webhooks", headers=people.agent.headers).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{sid}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{sid}", headers=headers).status_code == 404


def test_the_admin_pages_show_the_secret_once_and_the_log(
    client: TestClient, runtime: Runtime, db: Database, people: Personas, receiver: Receiver
) -> None:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email)
    token = csrf(client.get("/admin/webhooks", headers=HTML).text)
    form = {"csrf_token": token, "name": "CRM", "url": receiver.url(), "event_kinds": ["created"], "enabled": "on"}
    refused = client.post("/admin/webhooks", data=form)
    assert refused.status_code == 422 and "Allow private networks below to use it." in refused.text
    created = client.post("/admin/webhooks", data={**form, "allow_private_network": "on"})
    assert created.status_code == 200
    secret = re.search(r'id="webhook-secret" readonly value="([^"]+)"', created.text)
    assert secret and secret.group(1).startswith("whsec_")
    sid = int(re.search(r'action="/admin/webhooks/(\d+)/secret"', created.text).group(1))  # type: ignore[union-attr]
    make_ticket(db, people.agent.actor)
    runtime.worker.run_pending()
    page = client.get(f"/admin/webhooks/{sid}", headers=HTML).text
    assert secret.group(1) not in page and "Delivered" in page and "Ticket created" in page
    assert f"/admin/webhooks/{sid}/deliveries/" in page  # redeliver
    listed = client.get("/admin/webhooks", headers=HTML).text
    assert "CRM" in listed and "Delivered" in listed
    saved = client.post(
        f"/admin/webhooks/{sid}", data={**form, "allow_private_network": "on", "name": "CRM 2"}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert (
        client.post(f"/admin/webhooks/{sid}/delete", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert "No webhooks yet" in client.get("/admin/webhooks", headers=HTML).text
