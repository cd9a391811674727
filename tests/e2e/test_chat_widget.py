"""The chat widget on a plain HTML page of another origin, talking live to an agent in the workspace."""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from okno.accounts.permissions import Actor
from okno.channels.widget import service as widget_service
from okno.channels.widget.identity import sign_identity
from okno.channels.widget.schemas import TopicIn, WidgetCreate
from okno.crypto import Sealer
from okno.db import Database, make_engine
from tests import databases
from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in
from tests.served import admin_token, free_port, okno_env, serving

SECRET = "e2e-secret-key-for-the-chat-widget"
# OKNO_SCREENSHOTS=docs/screenshots keeps the pictures of the widget and the agent's page there.
SCREENSHOTS = os.environ.get("OKNO_SCREENSHOTS")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lamp shop</title>
<style>body {{ font: 16px Georgia, serif; margin: 40px; background: #faf7f2; color: #333; }}
button {{ all: unset; }} p {{ color: #7a1f1f; font-size: 22px; }}</style></head>
<body><h1>The Lamp Shop</h1><p>Lamps, shades and bulbs since 1998.</p>
<script src="{base}/widget.js" data-widget="{key}" async></script></body></html>
"""


@dataclass
class Site:
    desk: Desk
    widget_key: str
    url: str  # the shop's page, on its own origin
    foreign_url: str  # the same page on an origin the widget does not allow
    secret: bytes  # the widget's identity secret, as the shop's server knows it
    shop_dir: Path
    base: str


def _serve_directory(directory: Path) -> tuple[ThreadingHTTPServer, int]:
    port = free_port()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


@pytest.fixture
def site(served_template: databases.Template, tmp_path: Path) -> Iterator[Site]:
    url = served_template.fresh_url(tmp_path)
    env = okno_env(url, tmp_path / "data", OKNO_SECRET_KEY=SECRET)
    token = admin_token(env)
    shop_dir = tmp_path / "shop"
    shop_dir.mkdir()
    server, shop_port = _serve_directory(shop_dir)
    try:
        with serving(env) as (base, _process):
            desk = Desk(base, token)
            team = desk.api.post("/api/v1/teams", json={"name": "Shop support"})
            team.raise_for_status()
            team_id = team.json()["id"]
            desk.agent("anna@lamps.example", "Anna", team_ids=[team_id])
            engine = make_engine(url)
            try:
                with Database(engine).write() as session:
                    sealer = Sealer(SECRET, purpose=widget_service.SECRET_PURPOSE)
                    widget = widget_service.create_widget(
                        session,
                        Actor.system("tests"),
                        data=WidgetCreate(
                            name="Lamp Shop",
                            allowed_origins=[f"http://127.0.0.1:{shop_port}"],
                            color="#7a1f1f",
                            greeting="Hello! Questions about lamps?",
                            team_id=team_id,
                            ask_name=True,
                            topics=[
                                TopicIn(label="Buying a lamp", team_id=team_id),
                                TopicIn(label="A problem with my order", team_id=team_id),
                            ],
                        ),
                        sealer=sealer,
                    )
                    secret = widget_service.identity_secret(session, widget.id, sealer=sealer)
            finally:
                engine.dispose()
            (shop_dir / "index.html").write_text(PAGE.format(base=base, key=widget.key), encoding="utf-8")
            yield Site(
                desk=desk,
                widget_key=widget.key,
                url=f"http://127.0.0.1:{shop_port}/index.html",
                foreign_url=f"http://localhost:{shop_port}/index.html",
                secret=secret,
                shop_dir=shop_dir,
                base=base,
            )
            desk.api.close()
    finally:
        server.shutdown()


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=full_page)


def test_a_visitor_chats_live_with_an_agent_from_another_site(browser: Browser, site: Site) -> None:
    desk = site.desk
    agent = browser.new_context(viewport={"width": 1366, "height": 820}).new_page()
    sign_in(agent, desk, "anna@lamps.example")  # her pages' heartbeat puts her online
    expect(agent.locator("html")).to_have_attribute("data-live", "on")

    visitor = browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 760}).new_page()
    visitor.goto(site.url)
    launcher = visitor.get_by_role("button", name="Chat with us")
    expect(launcher).to_be_visible()
    launcher.click()
    dialog = visitor.get_by_role("dialog", name="Lamp Shop")
    expect(dialog.get_by_text("We are online")).to_be_visible()
    expect(dialog.get_by_text("Hello! Questions about lamps?")).to_be_visible()
    dialog.get_by_label("A problem with my order").check()
    dialog.get_by_label("Your name (optional)").fill("Vera")
    dialog.get_by_label("Your message").fill("My order 1042 arrived without the shade.")
    shot(visitor, "chat-widget-topics.png")
    dialog.get_by_role("button", name="Start the chat").click()
    log = dialog.get_by_role("log")
    expect(log.locator(".visitor")).to_contain_text("My order 1042 arrived without the shade.")

    [ticket] = desk.api.get("/api/v1/tickets", params={"channel": "chat"}).json()["items"]
    assert ticket["subject"].startswith("A problem with my order: My order 1042")
    agent.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(agent.locator(".message-inbound")).to_contain_text("arrived without the shade")
    # The agent's page has shown the message: the visitor sees it was read.
    expect(log.locator(".visitor .meta").first).to_contain_text("Read")

    dialog.get_by_label("Message", exact=True).press_sequentially("Also, the bulb")
    expect(agent.locator("#collision")).to_have_text("Vera is typing…")
    shot(agent, "chat-ticket.png", full_page=True)

    agent.get_by_label("Message", exact=True).press_sequentially("Sorry, Vera")
    expect(dialog.get_by_text("Anna is typing…")).to_be_visible()
    agent.get_by_label("Message", exact=True).fill("Sorry, Vera! A shade is on its way today.")
    agent.get_by_role("button", name="Send").click()
    expect(log.locator(".agent")).to_contain_text("A shade is on its way today.")
    # The widget is open and shows the reply: read, and the agent's page says so.
    expect(agent.locator(".message-reply [data-read]")).to_contain_text("Read")
    shot(visitor, "chat-widget.png")

    dialog.get_by_label("Message", exact=True).fill("Thank you!")
    dialog.get_by_label("Message", exact=True).press("Enter")
    expect(agent.locator(".message-inbound").last).to_contain_text("Thank you!")

    visitor.reload()  # the token in localStorage brings the whole conversation back
    visitor.get_by_role("button", name=re.compile("Chat with us")).click()
    log = visitor.get_by_role("dialog", name="Lamp Shop").get_by_role("log")
    expect(log.locator(".msg")).to_have_count(3)
    expect(log.locator(".agent")).to_contain_text("A shade is on its way today.")

    visitor.context.close()
    agent.context.close()


def test_a_site_not_on_the_allow_list_gets_no_widget(browser: Browser, site: Site) -> None:
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(site.foreign_url)
    expect(page.get_by_role("heading", name="The Lamp Shop")).to_be_visible()
    page.wait_for_function("() => window.__oknoChatWidget === true")
    expect(page.get_by_role("button", name="Chat with us")).to_have_count(0)
    # Even with a token made elsewhere, the help desk refuses the page's WebSocket.
    visitor = site.desk.api.post(
        f"/widget/{site.widget_key}/visitors", json={}, headers={"origin": site.url.rsplit("/", 1)[0]}
    )
    token = visitor.json()["token"]
    ws_url = site.desk.base.replace("http", "ws") + f"/widget/{site.widget_key}/ws?token={token}"
    outcome = page.evaluate(
        """url => new Promise(resolve => {
             const socket = new WebSocket(url);
             socket.onopen = () => resolve("open");
             socket.onclose = () => resolve("refused");
           })""",
        ws_url,
    )
    assert outcome == "refused"
    page.close()


def test_offline_the_widget_takes_a_message_for_email_in_russian(browser: Browser, site: Site) -> None:
    # Nobody has signed in: the team is offline. A Russian browser gets the widget's Russian texts.
    visitor = browser.new_context(locale="ru-RU").new_page()
    visitor.goto(site.url)
    visitor.get_by_role("button", name="Написать нам").click()
    dialog = visitor.get_by_role("dialog", name="Lamp Shop")
    expect(dialog.get_by_text("Сейчас никого нет")).to_be_visible()
    expect(dialog.get_by_text("Оставьте email и сообщение")).to_be_visible()
    dialog.get_by_label("Ваше сообщение").fill("Можно ли вернуть лампу через месяц?")
    dialog.get_by_role("button", name="Отправить сообщение").click()
    expect(dialog.get_by_text("оставьте email, и мы ответим на почту")).to_be_visible()  # the address is needed
    dialog.get_by_label("Ваш email").fill("olga@customer.example")
    dialog.get_by_role("button", name="Отправить сообщение").click()
    expect(dialog.get_by_text("Спасибо! Мы ответим на olga@customer.example.")).to_be_visible()
    expect(dialog.get_by_role("log").locator(".visitor")).to_contain_text("вернуть лампу")
    [ticket] = site.desk.api.get("/api/v1/tickets", params={"channel": "chat"}).json()["items"]
    assert ticket["language"] == "ru"
    visitor.context.close()


def test_what_a_visitor_sends_before_the_connection_is_open_goes_out_once_it_is(browser: Browser, site: Site) -> None:
    visitor = browser.new_page()
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    visitor.route(re.compile(r"/widget/[^/]+/visitors$"), hold)  # no visitor yet, so no connection
    visitor.goto(site.url)
    visitor.get_by_role("button", name="Chat with us").click()
    dialog = visitor.get_by_role("dialog", name="Lamp Shop")
    dialog.get_by_label("Your email").fill("ines@customer.example")
    dialog.get_by_label("Your message").fill("Is the brass lamp back in stock?")
    dialog.get_by_role("button", name="Send message").click()
    expect(dialog.get_by_text("Something went wrong")).to_have_count(0)
    assert len(held) == 1
    held[0].continue_()
    expect(dialog.get_by_text("Thank you! We will answer by email at ines@customer.example.")).to_be_visible()
    [ticket] = site.desk.api.get("/api/v1/tickets", params={"channel": "chat"}).json()["items"]
    assert ticket["subject"].endswith("Is the brass lamp back in stock?")
    visitor.close()


def test_a_visitor_signed_in_on_the_site_finds_their_earlier_chat(browser: Browser, site: Site) -> None:
    earlier = site.desk.ticket(
        subject="Shade colours",
        channel="chat",
        customer={"email": "olga@customer.example", "name": "Olga"},
        message={"body": "Which colours does the linen shade come in?"},
    )
    site.desk.api.post(f"/api/v1/tickets/{earlier['id']}/messages", json={"body": "White, sand and graphite."})
    signature = sign_identity(site.secret, email="olga@customer.example")
    who = f'data-user-email="olga@customer.example" data-user-name="Olga" data-user-signature="{signature}"'
    signed = PAGE.format(base=site.base, key=site.widget_key).replace("async></script>", who + " async></script>")
    (site.shop_dir / "account.html").write_text(signed, encoding="utf-8")
    page = browser.new_page()
    page.goto(site.url.replace("index.html", "account.html"))
    page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("dialog", name="Lamp Shop").get_by_role("log")
    expect(log.locator(".visitor")).to_contain_text("Which colours does the linen shade come in?")
    expect(log.locator(".agent")).to_contain_text("White, sand and graphite.")
    expect(page.get_by_role("button", name="Confirm my email to see earlier conversations")).to_have_count(0)
    page.close()
