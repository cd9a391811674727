"""An administrator sets up business hours in the browser; a visitor reads them on the public page."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Desk


def test_admin_builds_a_week_and_the_public_page_shows_it(browser: Browser, desk: Desk) -> None:
    assert desk.api.post("/api/v1/teams", json={"name": "Night desk"}).status_code == 201
    admin = browser.new_context(locale="en-GB").new_page()
    admin.goto(desk.base + "/sign-in")
    admin.get_by_label("Email").fill("root@example.com")
    admin.get_by_label("Password").fill("root-password-1")
    admin.get_by_role("button", name="Sign in").click()
    admin.goto(desk.base + "/admin/business-hours")
    expect(admin.get_by_text("No calendars yet")).to_be_visible()
    admin.get_by_role("link", name="New calendar").click()
    admin.get_by_label("Name", exact=True).fill("Weekend nights")
    admin.get_by_label("Time zone").fill("Europe/Bucharest")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):  # the form starts with office hours
        admin.get_by_label(f"{day}, from").first.fill("")
        admin.get_by_label(f"{day}, until").first.fill("")
    admin.get_by_label("Friday, from").first.fill("22:00")
    admin.get_by_label("Friday, until").first.fill("06:00")
    admin.get_by_role("button", name="Create calendar").click()
    expect(admin.get_by_text("An interval that ends before it starts must be marked overnight.")).to_be_visible()
    admin.locator('input[name="fri-0-overnight"]').check()
    admin.get_by_label("Every year").fill("12-25 Christmas")
    admin.get_by_role("button", name="Create calendar").click()
    expect(admin.get_by_text("The calendar was created.")).to_be_visible()
    admin.get_by_label("Night desk").check()
    admin.get_by_role("button", name="Save teams").click()
    expect(admin.get_by_text("Teams saved.")).to_be_visible()
    admin.goto(desk.base + "/admin/business-hours")
    row = admin.locator("tr", has_text="Weekend nights")
    expect(row).to_contain_text("Europe/Bucharest")
    expect(row).to_contain_text("Night desk")
    admin.context.close()

    visitor = browser.new_context(locale="ru-RU", extra_http_headers={"accept-language": "ru"}).new_page()
    visitor.goto(desk.base + "/support/new")
    visitor.get_by_role("link", name="Часы работы").click()
    expect(visitor.get_by_role("heading", name="Когда работает поддержка")).to_be_visible()
    expect(visitor.get_by_role("row", name="Пятница")).to_contain_text("22:00–06:00 (следующего дня)")
    expect(visitor.get_by_role("row", name="Понедельник")).to_contain_text("Закрыто")
    expect(visitor.get_by_text("Europe/Bucharest")).to_be_visible()
    visitor.context.close()
