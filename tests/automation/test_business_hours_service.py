"""Stored calendars: the default one, teams' calendars, replacing hours and dates, refusals (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from okno.accounts.permissions import Actor
from okno.automation.business_hours import service
from okno.automation.business_hours.calendar import next_opening
from okno.automation.business_hours.schemas import CalendarCreate, CalendarUpdate
from okno.db import Database
from okno.demo.business_hours import seed_business_hours
from okno.errors import Conflict, Forbidden, Invalid
from tests.factories.personas import Personas

WEEKDAYS_9_18 = {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}
MOSCOW: dict[str, Any] = {
    "name": "Support, Moscow",
    "time_zone": "Europe/Moscow",
    "week": WEEKDAYS_9_18,
    "holidays": [{"day": "2026-03-09", "name": "Women's Day (moved)"}, {"day": "2000-01-07", "yearly": True}],
}
BUCHAREST: dict[str, Any] = {
    "name": "Billing, Bucharest",
    "time_zone": "Europe/Bucharest",
    "week": {
        **WEEKDAYS_9_18,
        "fri": [{"start": "09:00", "end": "18:00"}, {"start": "22:00", "end": "02:00", "overnight": True}],
    },
    "special_days": [{"day": "2026-03-07", "name": "Working Saturday", "hours": [{"start": "10:00", "end": "14:00"}]}],
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def create(db: Database, actor: Actor, data: dict[str, Any]) -> int:
    with db.write() as session:
        return service.create_calendar(session, actor, data=CalendarCreate.model_validate(data)).id


def test_without_calendars_every_team_is_always_on_shift(db: Database, people: Personas) -> None:
    with db.read() as session:
        assert service.calendar_for_team(session, people.team_a) is None
        assert service.calendar_for_team(session, None) is None
        assert service.on_shift(session, people.team_a, utc("2026-03-01 03:00"))  # a Sunday night


def test_teams_use_their_calendar_else_the_default(db: Database, people: Personas) -> None:
    admin = people.admin.actor
    moscow = create(db, admin, MOSCOW)  # the first calendar becomes the default
    bucharest = create(db, admin, {**BUCHAREST, "team_ids": [people.team_b]})
    with db.read() as session:
        assert service.calendar_for_team(session, people.team_a).name == "Support, Moscow"  # type: ignore[union-attr]
        assert service.calendar_for_team(session, None).name == "Support, Moscow"  # type: ignore[union-attr]
        billing = service.calendar_for_team(session, people.team_b)
        assert billing is not None and billing.time_zone == "Europe/Bucharest"
        # Monday 2 March 2026, 06:30 UTC: 09:30 in Moscow, 08:30 in Bucharest.
        assert service.on_shift(session, people.team_a, utc("2026-03-02 06:30"))
        assert not service.on_shift(session, people.team_b, utc("2026-03-02 06:30"))
        assert not service.on_shift(session, people.team_a, utc("2026-03-09 08:00"))  # holiday
        assert service.on_shift(session, people.team_b, utc("2026-03-07 09:00"))  # working Saturday, 11:00
        assert service.on_shift(session, people.team_b, utc("2026-03-06 23:30"))  # Friday night, 01:30
        assert next_opening(billing, utc("2026-03-07 12:00")) == utc("2026-03-09 07:00")
        row = service.get_calendar(session, admin, moscow)
        assert row.is_default and [h.yearly for h in row.holidays] == [True, False]
        assert service.team_ids_of(session, [moscow, bucharest]) == {moscow: [], bucharest: [people.team_b]}


def test_changes_take_effect_at_once(db: Database, people: Personas) -> None:
    admin = people.admin.actor
    calendar_id = create(db, admin, MOSCOW)
    monday_night = utc("2026-03-02 17:00")  # 20:00 in Moscow
    with db.read() as session:
        assert not service.on_shift(session, people.team_a, monday_night)
    with db.write() as session:
        service.update_calendar(
            session,
            admin,
            calendar_id,
            changes=CalendarUpdate.model_validate(
                {
                    "week": {"mon": [{"start": "09:00", "end": "22:00"}]},
                    # The same date again, renamed: old rows go before new ones come.
                    "holidays": [{"day": "2026-03-09", "name": "Moved holiday"}],
                    "special_days": [{"day": "2026-03-08", "hours": [{"start": "10:00", "end": "12:00"}]}],
                }
            ),
        )
    with db.read() as session:
        assert service.on_shift(session, people.team_a, monday_night)
        assert not service.on_shift(session, people.team_a, utc("2026-03-03 07:00"))  # Tuesday: closed now
        row = service.get_calendar(session, admin, calendar_id)
        assert [(h.day, h.name) for h in row.holidays] == [(date(2026, 3, 9), "Moved holiday")]
        assert row.special_days[0].hours == [{"start": "10:00", "end": "12:00", "overnight": False}]
    with db.write() as session:
        service.update_calendar(session, admin, calendar_id, changes=CalendarUpdate(time_zone="Asia/Vladivostok"))
    with db.read() as session:
        assert service.calendar_for_team(session, people.team_a).time_zone == "Asia/Vladivostok"  # type: ignore[union-attr]


def test_one_default_calendar(db: Database, people: Personas) -> None:
    admin = people.admin.actor
    first = create(db, admin, {**MOSCOW, "is_default": False})
    second = create(db, admin, {**BUCHAREST, "is_default": True, "team_ids": [people.team_b]})
    with db.write() as session:
        assert not service.get_calendar(session, admin, first).is_default
        assert service.get_calendar(session, admin, second).is_default
        with pytest.raises(Conflict):
            service.delete_calendar(session, admin, second)
        service.update_calendar(session, admin, first, changes=CalendarUpdate(is_default=True))
        service.delete_calendar(session, admin, second)
    with db.read() as session:
        # Billing's own calendar is gone: it works by the default one now.
        assert service.calendar_for_team(session, people.team_b).name == "Support, Moscow"  # type: ignore[union-attr]
    with db.write() as session:
        service.delete_calendar(session, admin, first)  # the last one may go
    with db.read() as session:
        assert service.calendar_for_team(session, people.team_b) is None


def test_refusals(db: Database, people: Personas) -> None:
    create(db, people.admin.actor, MOSCOW)
    with db.write() as session, pytest.raises(Conflict) as taken:
        service.create_calendar(session, people.admin.actor, data=CalendarCreate.model_validate(MOSCOW))
    assert taken.value.details == [{"field": "name", "reason": "taken"}]
    with db.write() as session, pytest.raises(Invalid) as no_team:
        service.create_calendar(
            session, people.admin.actor, data=CalendarCreate.model_validate({**BUCHAREST, "team_ids": [99999]})
        )
    assert no_team.value.details[0]["field"] == "team_ids"
    with db.write() as session, pytest.raises(Forbidden):
        service.create_calendar(session, people.agent.actor, data=CalendarCreate.model_validate(BUCHAREST))
    with db.read() as session:
        assert [c.name for c in [service.calendar_for_team(session, None)] if c] == ["Support, Moscow"]


def test_moving_a_team_between_calendars(db: Database, people: Personas) -> None:
    admin = people.admin.actor
    moscow = create(db, admin, {**MOSCOW, "team_ids": [people.team_a]})
    bucharest = create(db, admin, {**BUCHAREST, "team_ids": [people.team_a, people.team_b]})
    with db.write() as session:
        assert service.team_ids_of(session, [moscow, bucharest]) == {
            moscow: [],
            bucharest: sorted([people.team_a, people.team_b]),
        }
        service.set_team_calendar(session, admin, team_id=people.team_b, calendar_id=moscow)
        service.set_team_calendar(session, admin, team_id=people.team_a, calendar_id=None)
        assert service.team_ids_of(session, [moscow, bucharest]) == {moscow: [people.team_b], bucharest: []}


def test_demo_calendars_are_seeded_once(db: Database, people: Personas) -> None:
    with db.write() as session:
        assert seed_business_hours(session) == 2
        assert seed_business_hours(session) == 0
    with db.read() as session:
        default = service.calendar_for_team(session, people.team_a)
        billing = service.calendar_for_team(session, people.team_b)  # the personas' second team is "Billing"
        assert default is not None and default.time_zone == "Europe/Moscow"
        assert billing is not None and billing.time_zone == "Europe/Bucharest"
        # Moscow is off from 31 December 2026 to 10 January 2027; Bucharest on 1 and 2 January only.
        assert next_opening(default, utc("2026-12-30 15:00")) == utc("2027-01-11 06:00")
        assert next_opening(billing, utc("2026-12-31 15:00")) == utc("2027-01-04 07:00")
