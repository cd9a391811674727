"""The SLA clock in the browser, on a served desk with its own worker: the warning rings the bell live."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_a_target_due_soon_rings_the_assignees_bell_and_shows_on_the_ticket(browser: Browser, desk: Desk) -> None:
    bob = desk.agent("bob@example.com", "Bob Stone")
    policy = {"name": "Fast", "business_hours": False, "targets": {"first_response": {"default": 10}}}
    desk.api.post("/api/v1/sla-policies", json=policy).raise_for_status()

    page = browser.new_context().new_page()
    sign_in(page, desk, "bob@example.com")
    expect(page.locator("html")).to_have_attribute("data-live", "on")
    expect(page.locator("[data-bell-count]")).to_be_hidden()
    # Due in 10 minutes, within the 15 of OKNO_SLA_WARNING_MINUTES: warned as soon as the clock starts.
    ticket = desk.ticket(subject="Parcel stuck in customs", assignee_id=bob["id"])

    expect(page.locator("[data-bell-count]")).to_have_text("1", timeout=10_000)  # live, without reloading
    page.goto(f"{desk.base}/inbox?view=sla_at_risk")
    expect(page.get_by_role("link", name="Parcel stuck in customs")).to_be_visible()
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("link", name=re.compile(r"SLA: First response on #\d+ is due soon")).click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket['id']}$"))
    first = page.locator('[data-sla-target="first_response"]')
    expect(first).to_contain_text(re.compile(r"\d+ min left"))
    expect(page.locator(".timeline")).to_contain_text("First response is due soon")
    page.context.close()
