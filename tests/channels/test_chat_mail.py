"""The chat's mail through a real SMTP server (aiosmtpd) from a served Okno: the confirmation code,
an offline conversation answered by email, an unread reply emailed later, and the transcript."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests import databases
from tests.channels.mail_servers import Outbox, smtp_server
from tests.served import admin_token, okno_env, run, serving

SHOP = "https://shop.example"


@dataclass
class Desk:
    base: str
    key: str
    admin: httpx.Client
    outbox: Outbox
    env: dict[str, str]

    def visitor(self) -> str:
        created = httpx.post(f"{self.base}/widget/{self.key}/visitors", json={}, headers={"origin": SHOP})
        assert created.status_code == 201, created.text
        token: str = created.json()["token"]
        return token

    def post(self, path: str, token: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.base}/widget/{self.key}{path}",
            json=body,
            headers={"origin": SHOP, "authorization": f"Bearer {token}"},
        )

    def socket(self, token: str) -> ClientConnection:
        url = self.base.replace("http", "ws", 1) + f"/widget/{self.key}/ws?token={token}"
        return connect(url, origin=SHOP, open_timeout=10)  # type: ignore[arg-type]


def frames_until(socket: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(socket.recv(timeout=10))
        if frame["type"] in {kind, "error"}:
            return frame


def text_of(mail: Any) -> str:
    body: str = mail.get_body(("plain",)).get_content()
    return body


@pytest.fixture
def desk(served_template: databases.Template, tmp_path: Path) -> Iterator[Desk]:
    env = okno_env(served_template.fresh_url(tmp_path), tmp_path / "data", OKNO_CHAT_UNREAD_EMAIL_SECONDS="1")
    token = admin_token(env)
    with smtp_server() as (smtp_port, outbox):
        added = run(
            env, "mailbox", "add", "--address", "support@shop.example", "--name", "Shop support",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-security", "none",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with serving(env) as (base, _process):
            admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            team = admin.post("/api/v1/teams", json={"name": "Shop support"}).json()
            widget = run(env, "widget", "add", "--name", "Shop", "--origin", SHOP, "--team", "Shop support")
            assert widget.returncode == 0, widget.stderr
            key = re.search(r"Key: (\S+)", widget.stdout)
            assert key and team["id"]
            yield Desk(base, key.group(1), admin, outbox, env)
            admin.close()


def test_a_code_confirms_an_address_and_an_offline_chat_is_answered_by_email(desk: Desk) -> None:
    token = desk.visitor()
    asked = desk.post("/visitors/me/email-code", token, {"email": "vera@customer.example", "locale": "ru"})
    assert asked.status_code == 202
    [(recipients, mail)] = desk.outbox.wait_for(1)
    assert recipients == ["vera@customer.example"] and mail["Subject"] == "Ваш код подтверждения"
    assert mail["Auto-Submitted"] == "auto-generated"
    code = re.search(r"\b(\d{6})\b", text_of(mail))
    assert code, text_of(mail)
    confirmed = desk.post("/visitors/me/email-code/confirm", token, {"code": code.group(1)})
    assert confirmed.status_code == 200 and confirmed.json()["visitor"]["email_confirmed"] is True

    with desk.socket(token) as socket:  # nobody of the team is online: the chat is taken offline
        frames_until(socket, "history")
        socket.send(json.dumps({"type": "start", "body": "Do you deliver to Chisinau on Saturdays?"}))
        started = frames_until(socket, "started")
        assert started["offline"] is True, started
    conversation = started["conversation_id"]
    answered = desk.admin.post(f"/api/v1/tickets/{conversation}/messages", json={"body": "Yes, until 14:00."})
    assert answered.status_code == 201, answered.text
    _code, (to, reply) = desk.outbox.wait_for(2)
    assert to == ["vera@customer.example"] and "Yes, until 14:00." in text_of(reply)

    transcript = desk.post(f"/conversations/{conversation}/transcript", token, {"locale": "en"})
    assert transcript.status_code == 202 and transcript.json() == {"email": "vera@customer.example"}
    *_, (to, copy) = desk.outbox.wait_for(3)
    body = text_of(copy)
    assert copy["Subject"].startswith("Transcript of your chat")
    assert "Do you deliver to Chisinau on Saturdays?" in body and "Yes, until 14:00." in body


def test_a_reply_left_unread_in_the_widget_goes_by_email(desk: Desk) -> None:
    teams = {t["name"]: t["id"] for t in desk.admin.get("/api/v1/teams").json()}
    created = desk.admin.post(
        "/api/v1/users",
        json={
            "email": "anna@shop.example",
            "name": "Anna",
            "password": "anna-password-1",
            "team_ids": [teams["Shop support"]],
        },
    )
    assert created.status_code == 201, created.text
    agent_token = run(desk.env, "token", "create", "--email", "anna@shop.example").stdout.strip()
    agent = httpx.Client(base_url=desk.base, headers={"Authorization": f"Bearer {agent_token}"}, timeout=10)
    assert agent.put("/api/v1/presence/me", json={"status": "online"}).status_code == 204

    token = desk.visitor()
    with desk.socket(token) as socket:
        frames_until(socket, "history")
        start = {"type": "start", "body": "Is the brass lamp back in stock?", "email": "olga@customer.example"}
        socket.send(json.dumps(start))
        started = frames_until(socket, "started")
        assert started["offline"] is False, started
    # The visitor has gone; the reply waits OKNO_CHAT_UNREAD_EMAIL_SECONDS for the widget, then is mailed.
    answered = agent.post(f"/api/v1/tickets/{started['conversation_id']}/messages", json={"body": "Yes, since Monday."})
    assert answered.status_code == 201, answered.text
    [(to, mail)] = desk.outbox.wait_for(1)
    assert to == ["olga@customer.example"] and "Yes, since Monday." in text_of(mail)
    agent.close()
