"""Several conversations at once: tabs of the open tickets, lit when news arrives elsewhere."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_open_tickets_stay_at_hand_as_tabs(browser: Browser, desk: Desk) -> None:
    desk.agent("mila@example.com", "Mila")
    first = desk.ticket(subject="Refund for order 77")
    second = desk.ticket(subject="Cannot log in", customer={"email": "petr@example.com", "name": "Petr"})
    page = browser.new_context().new_page()
    sign_in(page, desk, "mila@example.com")
    page.goto(f"{desk.base}/tickets/{first['id']}")
    page.goto(f"{desk.base}/tickets/{second['id']}")
    tabs = page.get_by_role("navigation", name="Open conversations")
    expect(tabs.get_by_role("link")).to_have_count(2)
    expect(tabs.locator(".current")).to_contain_text("Cannot log in")

    tabs.get_by_role("link", name=f"#{first['number']} Refund for order 77").click()
    expect(page.get_by_role("heading", name="Refund for order 77")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live", "on")
    reply = desk.api.post(f"/api/v1/tickets/{second['id']}/messages", json={"body": "Try the reset link."})
    assert reply.status_code == 201
    expect(tabs.locator(".ticket-tab.unread")).to_contain_text("Cannot log in")

    tabs.get_by_role("button", name=f"Close #{second['number']}").click()
    expect(tabs.get_by_role("link")).to_have_count(1)
    page.context.close()
