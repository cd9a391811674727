"""The spam folder in a real browser: mark a ticket as spam from its page, take it back from the Spam view."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_an_agent_moves_a_ticket_into_spam_and_back(browser: Browser, desk: Desk) -> None:
    desk.agent("sam@example.com", "Sam")
    ticket = desk.ticket(subject="Cheap watches, best price", customer={"email": "deals@watches.example", "name": "D"})
    page = browser.new_page()
    sign_in(page, desk, "sam@example.com")
    page.goto(f"{desk.base}/tickets/{ticket['id']}")
    page.get_by_label("and block the sender").check()
    page.get_by_role("button", name="Mark as spam").click()
    expect(page.locator("#spam-notice")).to_contain_text("In the spam folder since")
    expect(page.locator("#timeline")).to_contain_text("marked it as spam and blocked the sender")
    [rule] = desk.api.get("/api/v1/spam-rules").json()
    assert (rule["value"], rule["action"]) == ("deals@watches.example", "block")

    page.goto(desk.base + "/inbox?view=spam")
    expect(page.locator('[data-view-count="spam"]')).to_have_text("1")
    page.locator(f'tr[data-ticket-id="{ticket["id"]}"] input[name="ticket_id"]').check()
    page.get_by_label("Bulk action").select_option("spam:unmark")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("1 ticket changed.")).to_be_visible()
    expect(page.locator('[data-view-count="spam"]')).to_have_text("0")
    assert desk.api.get("/api/v1/spam-rules").json() == []  # the block went with it
    page.close()
