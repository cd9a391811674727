"""An administrator invites a colleague, who opens the link in their own browser and starts working."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk


def test_admin_invites_an_agent_who_sets_a_password_and_lands_in_the_inbox(browser: Browser, desk: Desk) -> None:
    team = desk.api.post("/api/v1/teams", json={"name": "Support"}).json()
    desk.ticket(team_id=team["id"])

    admin = browser.new_context().new_page()
    admin.goto(desk.base + "/sign-in")
    admin.get_by_label("Email").fill("root@example.com")
    admin.get_by_label("Password").fill("root-password-1")
    admin.get_by_role("button", name="Sign in").click()
    admin.get_by_role("link", name="Admin").click()
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    admin.get_by_role("link", name="Invite a user").click()
    admin.get_by_label("Email").fill("mira@example.com")
    admin.get_by_label("Name").fill("Mira")
    admin.get_by_role("radio", name=re.compile("^Agent")).check()
    admin.get_by_label("Support").check()
    admin.get_by_label("Languages").fill("ru, en")
    admin.get_by_role("button", name="Invite", exact=True).click()
    expect(admin.get_by_role("heading", name="Invitation link")).to_be_visible()
    link = admin.get_by_label("Invitation link").input_value()
    assert link.startswith(desk.base + "/invite/")

    newcomer = browser.new_context().new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_text("Hello, Mira!")).to_be_visible()
    newcomer.get_by_label("Password", exact=True).fill("mira-password-1")
    newcomer.get_by_label("Repeat the password").fill("mira-password-1")
    newcomer.get_by_role("button", name="Set password and sign in").click()
    expect(newcomer.get_by_role("heading", name="My open")).to_be_visible()
    expect(newcomer.locator(".username")).to_have_text("Mira")
    newcomer.get_by_role("link", name="My teams").click()
    expect(newcomer.get_by_role("link", name="Order 1042 has not arrived")).to_be_visible()

    admin.goto(desk.base + "/admin/users")
    row = admin.locator("tr", has_text="mira@example.com")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Support")
    admin.context.close()
    newcomer.context.close()
