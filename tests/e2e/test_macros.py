"""An agent answers with a macro, from the keyboard."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk
from tests.e2e.test_workspace import sign_in


def test_agent_answers_with_a_macro_by_keyboard(browser: Browser, desk: Desk) -> None:
    agent = desk.agent("nina@example.com", "Nina Sokolova")
    ticket = desk.ticket(assignee_id=agent["id"], customer={"email": "anna.k@example.com", "name": "Anna Karenina"})
    macro = desk.api.post(
        "/api/v1/macros",
        json={
            "title": "Courier is on the way",
            "body": "Hi {{customer.first_name}}, the courier brings order #{{ticket.number}} today. "
            "{{agent.first_name}}",
            "scope": "everyone",
            "actions": {"status": "pending", "add_tags": ["delivery"]},
        },
    )
    macro.raise_for_status()
    page = browser.new_page()
    sign_in(page, desk, "nina@example.com")
    page.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(page.get_by_role("heading", name="Order 1042 has not arrived")).to_be_visible()
    page.keyboard.press("m")
    expect(page.get_by_role("combobox", name="Macro")).to_be_focused()
    page.keyboard.type("courier")
    option = page.get_by_role("option", name="Courier is on the way")
    expect(option).to_have_attribute("aria-selected", "true")
    expect(option).to_contain_text("Hi Anna, the courier brings order")
    page.keyboard.press("Enter")
    composer = page.get_by_label("Message", exact=True)
    expected = f"Hi Anna, the courier brings order #{ticket['number']} today. Nina"
    expect(composer).to_have_value(expected)
    expect(composer).to_be_focused()
    expect(page.locator("#macro-chosen")).to_contain_text("Courier is on the way")
    page.reload()  # the draft keeps its macro
    expect(composer).to_have_value(expected)
    expect(page.locator("#macro-chosen")).to_contain_text("Status: Pending")
    composer.focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".message-reply")).to_contain_text("the courier brings order")
    expect(page.locator(".ticket-header .badge")).to_have_text("Pending")
    final = desk.api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert final["status"] == "pending" and final["tags"] == ["delivery"]
    kinds = [e["kind"] for e in desk.api.get(f"/api/v1/tickets/{ticket['id']}/events").json()]
    assert "macro_applied" in kinds
    page.close()
