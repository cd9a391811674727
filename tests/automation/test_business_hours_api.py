"""Business-hours calendars over the REST API: field-level refusals, reading back, administrators only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories.personas import Personas

URL = "/api/v1/business-hours"
CALENDAR: dict[str, Any] = {
    "name": "Support",
    "time_zone": "Europe/Moscow",
    "week": {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [{"day": "2026-01-07", "name": "Christmas", "yearly": True}],
    "special_days": [{"day": "2026-03-07", "name": "Working Saturday", "hours": [{"start": "10:00", "end": "14:00"}]}],
}


def test_create_read_change_and_delete(client: TestClient, people: Personas) -> None:
    admin = people.admin.headers
    created = client.post(URL, json={**CALENDAR, "team_ids": [people.team_a]}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["is_default"] and body["public"] and body["team_ids"] == [people.team_a]
    assert body["week"]["mon"] == [{"start": "09:00", "end": "18:00", "overnight": False}] and body["week"]["sat"] == []
    assert body["holidays"] == [{"day": "2026-01-07", "name": "Christmas", "yearly": True}]
    assert body["special_days"][0]["hours"] == [{"start": "10:00", "end": "14:00", "overnight": False}]
    # The test clock: Monday 2 March 2026, 09:00 UTC, 12:00 in Moscow.
    assert body["open_now"] is True and body["next_opening"] == "2026-03-02T09:00:00Z"
    url = f"{URL}/{body['id']}"
    assert client.get(url, headers=admin).json() == body
    assert [c["id"] for c in client.get(URL, headers=admin).json()] == [body["id"]]
    night = {"fri": [{"start": "22:00", "end": "06:00", "overnight": True}]}
    changed = client.patch(url, json={"week": night, "public": False}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["open_now"] is False and changed.json()["next_opening"] == "2026-03-06T19:00:00Z"
    assert changed.json()["week"]["fri"][0]["overnight"] and changed.json()["public"] is False
    assert changed.json()["holidays"] == body["holidays"]  # left out: unchanged
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"week": {"mon": [{"start": "18:00", "end": "09:00"}]}}, "week.mon.0"),  # not marked overnight
        ({"week": {"mon": [{"start": "09:00", "end": "18:00", "overnight": True}]}}, "week.mon.0"),
        ({"week": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]}}, "week"),
        (
            {"week": {"sun": [{"start": "22:00", "end": "10:00", "overnight": True}], **CALENDAR["week"]}},
            "week",  # into Monday's hours
        ),
        ({"week": {"mon": [{"start": "09:00:30", "end": "18:00"}]}}, "week.mon.0.start"),
        ({"week": {"someday": []}}, "week.someday.[key]"),
        ({"holidays": [{"day": "2026-02-30"}]}, "holidays.0.day"),
        ({"holidays": [{"day": "2026-05-01", "yearly": True}, {"day": "2027-05-01", "yearly": True}]}, "holidays"),
        ({"holidays": [{"day": "2026-05-01", "yearly": True}, {"day": "2026-05-01"}]}, "holidays"),
        ({"special_days": [{"day": "2026-03-07"}, {"day": "2026-03-07"}]}, "special_days"),
        ({"special_days": [{"day": "1900-01-01"}]}, "special_days.0.day"),
        ({"name": ""}, "name"),
        ({"colour": "green"}, "colour"),
    ],
)
def test_refusals_name_the_field(client: TestClient, people: Personas, change: dict[str, Any], field: str) -> None:
    refused = client.post(URL, json={**CALENDAR, **change}, headers=people.admin.headers)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]], error
    assert client.get(URL, headers=people.admin.headers).json() == []  # nothing half-written


def test_only_administrators(client: TestClient, people: Personas) -> None:
    assert client.get(URL, headers=people.agent.headers).status_code == 403
    assert client.post(URL, json=CALENDAR, headers=people.agent.headers).status_code == 403
    created = client.post(URL, json=CALENDAR, headers=people.admin.headers).json()
    assert client.patch(f"{URL}/{created['id']}", json={"name": "x"}, headers=people.agent.headers).status_code == 403
    assert client.post(URL, json=CALENDAR, headers=people.admin.headers).status_code == 409  # name taken
    second = client.post(URL, json={**CALENDAR, "name": "Second"}, headers=people.admin.headers).json()
    renamed = client.patch(f"{URL}/{second['id']}", json={"name": CALENDAR["name"]}, headers=people.admin.headers)
    assert renamed.status_code == 409 and renamed.json()["error"]["code"] == "calendar_exists"
    refused = client.delete(f"{URL}/{created['id']}", headers=people.admin.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "default_calendar"
    made_default = client.patch(f"{URL}/{second['id']}", json={"is_default": True}, headers=people.admin.headers)
    assert made_default.json()["is_default"] is True
    assert client.get(f"{URL}/{created['id']}", headers=people.admin.headers).json()["is_default"] is False
    bad = client.patch(f"{URL}/{second['id']}", json={"is_default": False}, headers=people.admin.headers)
    assert bad.status_code == 422


def test_documented_in_the_openapi(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"][URL])
    assert {"get", "patch", "delete"} <= set(spec["paths"][URL + "/{calendar_id}"])
    assert "overnight" in spec["paths"][URL]["post"]["description"]
