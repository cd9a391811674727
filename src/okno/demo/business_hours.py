"""The demo help desk's business hours: Moscow office hours by default, Billing in Bucharest.

Seeded through the business-hours service; a calendar whose name exists is left alone, so a
rerun creates nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.automation.business_hours import queries, service
from okno.automation.business_hours.schemas import CalendarCreate

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")

# Russia's non-working public holidays (Labour Code, art. 112), every year.
RUSSIAN_YEARLY = [
    *((f"2000-01-0{d}", "Новогодние каникулы") for d in range(1, 7)),
    ("2000-01-07", "Рождество Христово"),
    ("2000-01-08", "Новогодние каникулы"),
    ("2000-02-23", "День защитника Отечества"),
    ("2000-03-08", "Международный женский день"),
    ("2000-05-01", "Праздник Весны и Труда"),
    ("2000-05-09", "День Победы"),
    ("2000-06-12", "День России"),
    ("2000-11-04", "День народного единства"),
]
# Days off moved onto working days: 2026 by the government's decree; for 2027 the days that follow
# holidays falling on a weekend. The January 2027 transfers are decreed late in 2026: add them then.
RUSSIAN_MOVED = [
    ("2026-01-09", "Выходной (перенос с 3 января)"),
    ("2026-03-09", "Выходной (перенос с 8 марта)"),
    ("2026-05-11", "Выходной (перенос с 9 мая)"),
    ("2026-12-31", "Выходной (перенос с 4 января)"),
    ("2027-05-03", "Выходной (перенос с 1 мая)"),
    ("2027-05-10", "Выходной (перенос с 9 мая)"),
    ("2027-06-14", "Выходной (перенос с 12 июня)"),
]
ROMANIAN_YEARLY = [
    ("2000-01-01", "Anul Nou"),
    ("2000-01-02", "Anul Nou"),
    ("2000-01-06", "Boboteaza"),
    ("2000-01-07", "Sfântul Ioan"),
    ("2000-01-24", "Ziua Unirii Principatelor Române"),
    ("2000-05-01", "Ziua Muncii"),
    ("2000-06-01", "Ziua Copilului"),
    ("2000-08-15", "Adormirea Maicii Domnului"),
    ("2000-11-30", "Sfântul Andrei"),
    ("2000-12-01", "Ziua Națională"),
    ("2000-12-25", "Crăciunul"),
    ("2000-12-26", "Crăciunul"),
]
# Orthodox Easter and Pentecost move every year.
ROMANIAN_MOVABLE = [
    ("2026-04-10", "Vinerea Mare"),
    ("2026-04-13", "A doua zi de Paște"),
    ("2027-04-30", "Vinerea Mare"),
    ("2027-05-03", "A doua zi de Paște"),
    ("2027-06-21", "A doua zi de Rusalii"),
]

CALENDARS: list[dict[str, Any]] = [
    {
        "name": "Поддержка, Москва",
        "description": "Общие вопросы, доставка и VIP-клиенты / general questions, delivery and priority customers.",
        "time_zone": "Europe/Moscow",
        "is_default": True,
        "week": {d: [{"start": "09:00", "end": "18:00"}] for d in WORKDAYS},
        "holidays": [{"day": d, "name": n, "yearly": True} for d, n in RUSSIAN_YEARLY]
        + [{"day": d, "name": n} for d, n in RUSSIAN_MOVED],
        "teams": [],
    },
    {
        "name": "Billing, Bucharest",
        "description": "Payments, refunds and invoices. Open on the last Saturday of each quarter for the closing.",
        "time_zone": "Europe/Bucharest",
        "week": {d: [{"start": "09:00", "end": "17:00"}] for d in WORKDAYS},
        "holidays": [{"day": d, "name": n, "yearly": True} for d, n in ROMANIAN_YEARLY]
        + [{"day": d, "name": n} for d, n in ROMANIAN_MOVABLE],
        "special_days": [
            {"day": d, "name": "Quarter close", "hours": [{"start": "10:00", "end": "14:00"}]}
            for d in ("2026-03-28", "2026-06-27", "2026-09-26", "2026-12-19", "2027-03-27", "2027-06-26")
        ],
        "teams": ["Billing"],
    },
]


def seed_business_hours(session: Session) -> int:
    """Creates the demo calendars that are not there yet; returns how many it made."""
    system = Actor.system("demo")
    existing = {c.name for c in queries.list_calendars(session)}
    teams = {t.name: t.id for t in accounts_service.list_teams(session, system)}
    made = 0
    for demo in CALENDARS:
        if demo["name"] in existing:
            continue
        fields = {k: v for k, v in demo.items() if k != "teams"}
        fields["team_ids"] = [teams[name] for name in demo["teams"] if name in teams]
        service.create_calendar(session, system, data=CalendarCreate.model_validate(fields))
        made += 1
    return made
