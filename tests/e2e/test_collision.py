"""Two agents on one ticket: each sees the other there, and sees them typing, live."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_agents_see_who_else_is_viewing_and_typing(browser: Browser, desk: Desk) -> None:
    desk.agent("ann@example.com", "Ann")
    desk.agent("bob@example.com", "Bob")
    ticket = desk.ticket()
    ann = browser.new_context().new_page()
    sign_in(ann, desk, "ann@example.com")
    ann.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(ann.locator("html")).to_have_attribute("data-live", "on")
    expect(ann.locator("#collision")).to_be_hidden()

    bob = browser.new_context().new_page()
    sign_in(bob, desk, "bob@example.com")
    bob.goto(f"{desk.base}/tickets/{ticket['id']}")

    expect(ann.locator("#collision")).to_have_text("Also viewing: Bob")
    expect(bob.locator("#collision")).to_have_text("Also viewing: Ann")  # told by Ann's page at once

    bob.get_by_label("Message", exact=True).press_sequentially("Checking the courier")
    expect(ann.locator("#collision")).to_have_text("Bob is typing a reply…")

    bob.close()  # leaving the page says so
    expect(ann.locator("#collision")).to_be_hidden()
    ann.context.close()
    bob.context.close()
