"""An agent's first minutes in a real browser."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PASSWORD, Desk


def sign_in(page: Page, desk: Desk, email: str) -> None:
    page.goto(desk.base + "/inbox")
    expect(page).to_have_url(desk.base + "/sign-in?next=/inbox")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My open")).to_be_visible()


def test_agent_signs_in_answers_and_solves(browser: Browser, desk: Desk) -> None:
    agent = desk.agent("vera@example.com", "Vera")
    ticket = desk.ticket(assignee_id=agent["id"])
    page = browser.new_page()
    sign_in(page, desk, "vera@example.com")
    expect(page.locator('[data-view-count="mine"]')).to_have_text("1")
    page.get_by_role("link", name="Order 1042 has not arrived").click()
    expect(page.get_by_role("heading", name="Order 1042 has not arrived")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Sorry, Anna! A courier brings it today.")
    page.get_by_label("and set status").select_option("solved")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message-reply")).to_contain_text("A courier brings it today.")
    expect(page.locator(".ticket-header .badge")).to_have_text("Solved")
    events = desk.api.get(f"/api/v1/tickets/{ticket['id']}/events").json()
    assert [e["kind"] for e in events][-2:] == ["reply_sent", "status_changed"]
    page.close()


def test_customer_markup_does_nothing(browser: Browser, desk: Desk) -> None:
    desk.agent("lev@example.com", "Lev")
    hostile = (
        '<p>Hello</p><script>document.title="owned"</script>'
        '<img src="x" onerror="document.title=\'owned\'">'
        '<button hx-post="/sign-out" hx-trigger="load">x</button>'
    )
    ticket = desk.ticket(message={"body_html": hostile})
    page = browser.new_page()
    sign_in(page, desk, "lev@example.com")
    page.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(page.locator(".message-inbound")).to_contain_text("Hello")
    assert page.title() != "owned"
    assert page.locator(".message-body script, .message-body [onerror], .message-body [hx-post]").count() == 0
    page.reload()
    expect(page.get_by_role("heading", name="Order 1042 has not arrived")).to_be_visible()  # still signed in
    page.close()


def test_russian_workspace(browser: Browser, desk: Desk) -> None:
    desk.agent("olga@example.com", "Ольга", locale="ru")
    desk.ticket()
    page = browser.new_page()
    page.goto(desk.base + "/sign-in")
    page.get_by_label("Email").fill("olga@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Мои открытые")).to_be_visible()
    page.get_by_role("link", name="Без исполнителя").click()
    expect(page.get_by_text("1 обращение")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.close()


def test_second_agent_sees_a_reply_arrive_live(browser: Browser, desk: Desk) -> None:
    first = desk.agent("ann@example.com", "Ann")
    desk.agent("bob@example.com", "Bob")
    ticket = desk.ticket(assignee_id=first["id"])
    watcher = browser.new_context().new_page()
    sign_in(watcher, desk, "bob@example.com")
    watcher.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(watcher.locator("html")).to_have_attribute("data-live", "on")
    watcher.get_by_label("Message", exact=True).fill("a draft Bob is writing")

    author = browser.new_context().new_page()
    sign_in(author, desk, "ann@example.com")
    author.goto(f"{desk.base}/tickets/{ticket['id']}")
    author.get_by_label("Message", exact=True).fill("Ann here: the parcel is on its way.")
    author.get_by_role("button", name="Send").click()

    expect(watcher.locator(".message-reply")).to_contain_text("the parcel is on its way", timeout=5000)
    expect(watcher.get_by_label("Message", exact=True)).to_have_value("a draft Bob is writing")
    watcher.reload()
    expect(watcher.get_by_label("Message", exact=True)).to_have_value("a draft Bob is writing")  # drafts survive
    watcher.context.close()
    author.context.close()


def test_inbox_to_solved_with_the_keyboard_alone(browser: Browser, desk: Desk) -> None:
    desk.agent("kira@example.com", "Kira")
    desk.ticket(subject="Older question")
    ticket = desk.ticket(subject="Newest question")
    page = browser.new_page()
    sign_in(page, desk, "kira@example.com")
    page.keyboard.press("?")
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(desk.base + "/inbox?view=unassigned")
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_contain_text("Newest question")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Newest question")).to_be_visible()
    page.wait_for_load_state()  # the shortcuts listen once the page's scripts have run, not when it shows
    page.keyboard.press("a")
    expect(page.get_by_label("Assignee")).to_have_value(str(desk.api.get("/api/v1/users?role=agent").json()[0]["id"]))
    page.keyboard.press("r")
    page.keyboard.type("Found it: it ships tomorrow.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".message-reply")).to_contain_text("ships tomorrow")
    page.keyboard.press("s")
    expect(page.locator(".ticket-header .badge")).to_have_text("Solved")
    final = desk.api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert final["status"] == "solved" and final["assignee_id"] is not None
    page.close()


def test_a_colleagues_changes_show_live_and_spare_a_field_being_edited(browser: Browser, desk: Desk) -> None:
    fields = {"key": "order_number", "label": "Order number", "field_type": "text"}
    desk.api.post("/api/v1/custom-fields", json=fields).raise_for_status()
    ann = desk.agent("ann@example.com", "Ann")
    ticket = desk.ticket()
    page = browser.new_context().new_page()
    sign_in(page, desk, "ann@example.com")
    page.goto(f"{desk.base}/tickets/{ticket['id']}")
    expect(page.locator("html")).to_have_attribute("data-live", "on")
    page.get_by_label("Order number").fill("A-1042")  # typed, not saved yet

    change = {"status": "pending", "priority": "high", "assignee_id": ann["id"], "tags": ["delivery"]}
    desk.api.patch(f"/api/v1/tickets/{ticket['id']}", json=change).raise_for_status()

    state = page.locator("#ticket-state")
    expect(state.locator(".badge")).to_have_text("Pending", timeout=5000)
    expect(state.locator(".priority")).to_have_text("High")
    expect(page.locator("#prop-status")).to_have_value("pending")
    expect(page.locator("#prop-assignee")).to_have_value(str(ann["id"]))
    expect(page.locator(".tag-list")).to_contain_text("delivery")
    expect(page.get_by_label("Order number")).to_have_value("A-1042")  # the agent's input stays
    expect(page.get_by_label("Message", exact=True)).to_be_editable()

    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_label("Order number")).to_have_value("A-1042")
    desk.api.patch(f"/api/v1/tickets/{ticket['id']}", json={"custom_fields": {"order_number": "A-2077"}})
    expect(page.get_by_label("Order number")).to_have_value("A-2077", timeout=5000)
    # The selects still act after being replaced: the status is set from the refreshed card.
    page.locator("#prop-status").select_option("solved")
    expect(page.locator("#ticket-state .badge")).to_have_text("Solved")
    page.context.close()
