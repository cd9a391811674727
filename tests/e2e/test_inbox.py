"""The inbox in a real browser: pick tickets with the keyboard and checkboxes, act on them at once."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_bulk_assign_two_tickets_to_me(browser: Browser, desk: Desk) -> None:
    desk.agent("mira@example.com", "Mira")
    first = desk.ticket(subject="Parcel lost in Riga")
    second = desk.ticket(subject="Invoice in the wrong currency")
    desk.ticket(subject="Password reset loop")
    page = browser.new_page()
    sign_in(page, desk, "mira@example.com")
    expect(page.locator('[data-view-count="mine"]')).to_have_text("0")
    page.get_by_role("link", name="Unassigned").click()
    expect(page.locator("tr[data-href]")).to_have_count(3)
    apply = page.get_by_role("button", name="Apply to selected")
    expect(apply).to_be_disabled()
    # j highlights a row and x selects it; the other ticket is ticked by its checkbox.
    ours = {first["id"], second["id"]}
    page.keyboard.press("j")
    highlighted = page.locator("tr.selected")
    expect(highlighted).to_have_count(1)
    target = int(highlighted.get_attribute("data-ticket-id") or 0)
    if target not in ours:  # the list is newest first; walk to a ticket of ours
        page.keyboard.press("j")
        target = int(page.locator("tr.selected").get_attribute("data-ticket-id") or 0)
    page.keyboard.press("x")
    expect(page.locator(f'tr[data-ticket-id="{target}"] input[name="ticket_id"]')).to_be_checked()
    other = next(ticket_id for ticket_id in ours if ticket_id != target)
    page.locator(f'tr[data-ticket-id="{other}"] input[name="ticket_id"]').check()
    expect(page.locator(".selected-count")).to_have_text("Selected: 2")
    expect(apply).to_be_enabled()
    page.get_by_label("Bulk action").select_option("assign:me")
    apply.click()
    expect(page.get_by_text("2 tickets changed.")).to_be_visible()
    expect(page.locator('[data-view-count="mine"]')).to_have_text("2")
    expect(page.locator('[data-view-count="unassigned"]')).to_have_text("1")
    page.get_by_role("link", name="My open").click()
    expect(page.get_by_role("link", name="Parcel lost in Riga")).to_be_visible()
    expect(page.get_by_role("link", name="Invoice in the wrong currency")).to_be_visible()
    expect(page.locator("tr[data-href]")).to_have_count(2)
    # "Select all on this page", and x again on a highlighted row, clears it.
    page.get_by_label("Select all on this page").check()
    expect(page.locator(".selected-count")).to_have_text("Selected: 2")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator(".selected-count")).to_have_text("Selected: 1")
    page.close()


def test_save_a_filtered_view(browser: Browser, desk: Desk) -> None:
    desk.agent("ivo@example.com", "Ivo")
    desk.ticket(subject="Checkout is down", priority="urgent")
    desk.ticket(subject="Font looks odd", priority="low")
    page = browser.new_page()
    sign_in(page, desk, "ivo@example.com")
    page.get_by_role("link", name="All open").click()
    page.locator("summary", has_text="Priority").click()
    page.get_by_role("checkbox", name="Urgent").check()
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("tr[data-href]")).to_have_count(1)
    page.locator("summary", has_text="Save as view").click()
    page.get_by_label("Name").fill("Fires")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("heading", name="Fires")).to_be_visible()
    expect(page.locator("nav.sidebar").get_by_role("link", name="Fires")).to_contain_text("1")
    expect(page.get_by_role("link", name="Checkout is down")).to_be_visible()
    page.close()
