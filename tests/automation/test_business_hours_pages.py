"""The business-hours admin pages and the public "when support works" page, over HTTP as a browser uses them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from okno.accounts import service as accounts_service
from okno.accounts.schemas import UserUpdate
from okno.automation.business_hours import service
from okno.automation.business_hours.schemas import CalendarCreate
from okno.clock import FrozenClock
from okno.db import Database
from tests.factories.personas import Personas
from tests.web.test_pages import HTML, csrf, set_password, sign_in

BASE = "/admin/business-hours"


def grid(**days: list[tuple[str, str] | tuple[str, str, bool]]) -> dict[str, str]:
    """The week grid's fields: ``mon=[("09:00", "18:00")]``; a third item ticks overnight."""
    fields = {}
    for day, rows in days.items():
        for i, row in enumerate(rows):
            fields[f"{day}-{i}-start"], fields[f"{day}-{i}-end"] = row[0], row[1]
            if len(row) > 2 and row[2]:
                fields[f"{day}-{i}-overnight"] = "on"
    return fields


FORM: dict[str, str] = {
    "name": "Поддержка",
    "time_zone": "Europe/Moscow",
    "description": "Support in Russian and English",
    "public": "on",
    **grid(**{d: [("09:00", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")}),
    "yearly_holidays": "01-07 Рождество\n08.03 Women's Day",
    "holidays": "2026-03-09 Moved holiday",
    "special_days": "2026-03-07 10:00-14:00 Working Saturday\n2026-03-13\n2026-03-14 22:00-02:00+1 Night release",
}


def admin_session(client: TestClient, db: Database, people: Personas) -> str:
    set_password(db, people.admin.user_id)
    sign_in(client, people.admin.email, next="/admin/business-hours")
    return csrf(client.get(BASE + "/new", headers=HTML).text)


def test_an_admin_creates_and_edits_a_calendar(client: TestClient, db: Database, people: Personas) -> None:
    token = admin_session(client, db, people)
    empty = client.get(BASE, headers=HTML)
    assert (
        empty.status_code == 200 and "No calendars yet" in empty.text and 'href="/admin/business-hours"' in empty.text
    )
    created = client.post(BASE, data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    calendar_id = int(url.rsplit("/", 1)[1])
    page = client.get(url + "?done=created", headers=HTML).text
    assert "The calendar was created." in page and 'value="Поддержка"' in page
    assert "01-07 Рождество" in page and "03-08 Women&#39;s Day" in page
    assert "2026-03-07 10:00-14:00 Working Saturday" in page and "2026-03-14 22:00-02:00+1 Night release" in page
    assert 'name="fri-0-start" value="09:00"' in page and 'name="sat-0-start" value=""' in page
    read = client.get(f"/api/v1/business-hours/{calendar_id}", headers=people.admin.headers).json()
    assert read["is_default"] and [s["hours"] for s in read["special_days"]] == [
        [{"start": "10:00", "end": "14:00", "overnight": False}],
        [],
        [{"start": "22:00", "end": "02:00", "overnight": True}],
    ]
    # Friday night too, and teams.
    night = {**FORM, **grid(fri=[("09:00", "18:00"), ("22:00", "02:00", True)]), "csrf_token": token}
    saved = client.post(url, data=night, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == url + "?done=saved"
    teams = client.post(url + "/teams", data={"team_ids": [str(people.team_b)], "csrf_token": token})
    assert teams.status_code == 200 and "Teams saved." in teams.text
    read = client.get(f"/api/v1/business-hours/{calendar_id}", headers=people.admin.headers).json()
    assert read["team_ids"] == [people.team_b] and len(read["week"]["fri"]) == 2
    listed = client.get(BASE, headers=HTML).text
    assert "Поддержка" in listed and "Europe/Moscow" in listed and "Billing" in listed and "Default" in listed
    deleted = client.post(url + "/delete", data={"csrf_token": token})
    assert deleted.status_code == 200 and "The calendar was deleted." in deleted.text


def test_mistakes_stand_next_to_their_fields(client: TestClient, db: Database, people: Personas) -> None:
    token = admin_session(client, db, people)
    bad = {
        **FORM,
        "time_zone": "Moscow",
        **grid(mon=[("18:00", "09:00")], tue=[("09:00", "13:00"), ("12:00", "18:00")], wed=[("09:00", "")]),
        "yearly_holidays": "01-07 Christmas\n31.02 Never",
        "special_days": "2026-03-07 10:00-9 Typo",
        "csrf_token": token,
    }
    refused = client.post(BASE, data=bad)
    assert refused.status_code == 422
    text = refused.text
    assert "Choose a time zone from the list" in text
    assert 'id="mon-error">An interval that ends before it starts must be marked overnight.' in text
    assert 'id="tue-error">These hours overlap (overnight hours included).' in text
    assert 'id="wed-error">Give both the start and the end.' in text
    assert "Line 2: write a date such as 01-07" in text
    assert "Line 1: write hours such as 10:00-14:00" in text
    assert 'value="18:00"' in text and "31.02 Never" in text  # what was typed stays
    assert client.get("/api/v1/business-hours", headers=people.admin.headers).json() == []
    with db.write() as session:
        accounts_service.update_user(session, people.admin.actor, people.admin.user_id, changes=UserUpdate(locale="ru"))
    russian = client.post(BASE, data=bad).text
    assert 'lang="ru"' in russian and "нужно отметить как ночной" in russian and "Строка 2: укажите дату" in russian


def test_admin_pages_are_for_administrators(client: TestClient, db: Database, people: Personas) -> None:
    set_password(db, people.agent.user_id)
    sign_in(client, people.agent.email)
    assert client.get(BASE, headers=HTML).status_code == 403
    assert "/admin/business-hours" not in client.get("/inbox", headers=HTML).text


def make_calendar(db: Database, people: Personas, data: dict[str, Any]) -> int:
    with db.write() as session:
        return service.create_calendar(session, people.admin.actor, data=CalendarCreate.model_validate(data)).id


WEEKDAYS_9_18 = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_the_public_page_says_when_support_works(
    client: TestClient, db: Database, people: Personas, clock: FrozenClock
) -> None:
    assert "We answer around the clock." in client.get("/support/hours", headers=HTML).text
    make_calendar(
        db,
        people,
        {
            "name": "Support",
            "time_zone": "Europe/Moscow",
            "week": WEEKDAYS_9_18,
            "holidays": [
                {"day": "2026-03-09", "name": "Women's Day (moved)"},
                {"day": "2026-03-10", "name": "Extra day"},
                {"day": "2026-05-01", "yearly": True},
            ],
            "special_days": [
                {"day": "2026-03-07", "name": "Working Saturday", "hours": [{"start": "10:00", "end": "14:00"}]}
            ],
        },
    )
    make_calendar(db, people, {"name": "Hidden", "time_zone": "UTC", "public": False})
    # Monday 2 March 2026, 09:00 UTC: 12:00 in Moscow.
    page = client.get("/support/hours", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Open now" in text and "Open until 18:00." in text and "Hidden" not in text
    assert "Europe/Moscow (UTC+03)" in text and "it is 12:00 there now" in text
    assert "Saturday, 7 March" in text and "Working Saturday" in text and "10:00–14:00" in text
    # Closed days in a row are one entry.
    flat = " ".join(text.split())
    assert "Monday, 9 March – Tuesday, 10 March</strong> — Women&#39;s Day (moved), Extra day: closed" in flat
    assert "Friday, 1 May" in text  # yearly, within the coming weeks
    clock.set(datetime(2026, 3, 6, 16, 0, tzinfo=UTC))  # Friday 19:00 in Moscow
    text = client.get("/support/hours", headers=HTML).text
    assert "Closed now" in text and "Next opening: Saturday, 7 March, 10:00." in text
    russian = client.get("/support/hours", headers={**HTML, "accept-language": "ru"}).text
    assert "Сейчас закрыто" in russian and "суббота, 7 марта, 10:00" in russian and "Понедельник" in russian
    # The portal's pages lead here.
    assert 'href="/support/hours"' in client.get("/support/new", headers=HTML).text
