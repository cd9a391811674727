"""The public form and the customer portal in a real browser, with the sign-in link read from real mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests import databases
from tests.channels.mail_servers import Outbox, smtp_server
from tests.served import okno_env, run, serving


@pytest.fixture
def portal(served_template: databases.Template, tmp_path: Path) -> Iterator[tuple[str, Outbox]]:
    # The browser types faster than any person; the minimum fill time is tested in tests/channels.
    env = okno_env(served_template.fresh_url(tmp_path), tmp_path / "data", OKNO_PORTAL_FORM_MIN_SECONDS="0")
    with smtp_server() as (smtp_port, outbox):
        added = run(
            env, "mailbox", "add", "--address", "support@shop.example", "--name", "Shop support",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-security", "none",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with serving(env) as (base, _process):
            yield base, outbox


def test_a_customer_writes_signs_in_by_mail_and_replies(browser: Browser, portal: tuple[str, Outbox]) -> None:
    base, outbox = portal
    page = browser.new_page(locale="en-GB")
    page.goto(f"{base}/support/new")
    page.get_by_label("Your name").fill("Vera Lang")
    page.get_by_label("Your email").fill("vera@customer.example")
    page.get_by_label("Subject").fill("The lamp arrived broken")
    page.get_by_label("How can we help?").fill("Hello, the box was crushed and the lamp inside is broken.")
    page.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "box.txt", "mimeType": "text/plain", "buffer": b"crushed box"}]
    )
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you, we have your request")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Your request number is #\d+\."))).to_be_visible()

    page.get_by_role("link", name="Sign in to see your requests").first.click()
    page.get_by_label("Email").fill("vera@customer.example")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    [(_recipients, mail)] = outbox.wait_for(1)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"(/portal/sign-in/[\w-]+)", text)
    assert link, text

    page.goto(base + link.group(1))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="My requests")).to_be_visible()
    page.get_by_role("link", name=re.compile("The lamp arrived broken")).click()
    expect(page.locator(".portal-message")).to_have_count(1)
    expect(page.get_by_role("link", name="box.txt")).to_be_visible()
    page.get_by_label("Your message").fill("I can send more photos if that helps.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("We have your message")
    expect(page.locator(".portal-message.from-customer")).to_have_count(2)
    expect(page.locator(".portal-message").last).to_contain_text("more photos")

    page.get_by_role("link", name="Русский").click()
    expect(page.get_by_role("heading", name="The lamp arrived broken")).to_be_visible()
    expect(page.get_by_role("button", name="Закрыть обращение")).to_be_visible()
    page.close()
