"""A mention in an internal note reaches the colleague's open page live, and leads them to the note."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_mentioned_agent_sees_the_bell_ring_and_lands_on_the_note(browser: Browser, desk: Desk) -> None:
    desk.agent("ann@example.com", "Ann Writer")
    bob = desk.agent("bob@example.com", "Bob Stone")
    desk.agent("boris@example.com", "Boris Other")
    ticket = desk.ticket(subject="Parcel stuck in customs")

    reader = browser.new_context().new_page()
    sign_in(reader, desk, "bob@example.com")  # Bob waits on his inbox
    expect(reader.locator("html")).to_have_attribute("data-live", "on")
    expect(reader.locator("[data-bell-count]")).to_be_hidden()

    writer = browser.new_context().new_page()
    sign_in(writer, desk, "ann@example.com")
    writer.goto(f"{desk.base}/tickets/{ticket['id']}")
    writer.keyboard.press("n")
    writer.keyboard.type("Customs need the invoice. @Bo")
    suggestions = writer.get_by_role("listbox", name="Colleagues to mention")
    expect(suggestions.get_by_role("option")).to_have_text(["Bob Stone", "Boris Other"])
    expect(suggestions.get_by_role("option", name="Bob Stone")).to_have_attribute("aria-selected", "true")
    writer.keyboard.press("Enter")  # picks, does not send
    expect(suggestions).to_be_hidden()
    expect(writer.get_by_label("Message", exact=True)).to_have_value("Customs need the invoice. @Bob Stone ")
    writer.keyboard.type("can you call them?")
    writer.keyboard.press("Control+Enter")
    expect(writer.locator(".message-note")).to_contain_text("@Bob Stone can you call them?")
    expect(writer.locator(".message-note .mentions")).to_contain_text("@Bob Stone")

    bell = reader.locator("[data-bell-count]")
    expect(bell).to_have_text("1", timeout=5000)  # live, without reloading
    reader.get_by_role("link", name="Notifications").click()
    expect(reader.get_by_role("heading", name="Notifications")).to_be_visible()
    reader.get_by_role("link", name=re.compile("Ann Writer mentioned you on #")).click()
    expect(reader).to_have_url(re.compile(rf"/tickets/{ticket['id']}#message-\d+$"))
    anchor = reader.url.split("#")[1]
    expect(reader.locator(f"#{anchor}")).to_contain_text("can you call them?")
    expect(reader.locator("[data-bell-count]")).to_be_hidden()
    events = desk.api.get(f"/api/v1/tickets/{ticket['id']}/events").json()
    assert events[-1]["kind"] == "note_added" and events[-1]["data"]["mentioned_user_ids"] == [bob["id"]]
    reader.context.close()
    writer.context.close()
