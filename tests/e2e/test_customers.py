"""The customer card in a real browser: from a ticket to the customer's page, and a shared note."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_agent_opens_the_customer_from_a_ticket_and_adds_a_note(browser: Browser, desk: Desk) -> None:
    desk.agent("nina@example.com", "Nina")
    earlier = desk.ticket(subject="Wrong size delivered")
    ticket = desk.ticket()
    page = browser.new_page()
    sign_in(page, desk, "nina@example.com")
    page.goto(f"{desk.base}/tickets/{ticket['id']}")
    card = page.locator(".customer-card")
    expect(card.get_by_role("link", name="#" + str(earlier["number"]) + " Wrong size delivered")).to_be_visible()
    card.get_by_role("link", name="Anna").click()
    expect(page.get_by_role("heading", name="Anna", exact=True)).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Order 1042 has not arrived")).to_be_visible()
    page.get_by_label("New note").fill("Prefers a call after 18:00")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status")).to_have_text("Note saved.")
    expect(page.locator("#customer-notes .note-body")).to_have_text(["Prefers a call after 18:00"])
    expect(page.locator("#customer-notes .note-meta").first).to_contain_text("Nina")
    page.get_by_role("main").get_by_role("link", name="Order 1042 has not arrived").click()
    expect(page.locator(".customer-card .note-body")).to_have_text(["Prefers a call after 18:00"])
    page.close()
