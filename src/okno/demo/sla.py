"""The demo help desk's SLA policies: the paid priority plan gets tighter targets, urgent tickets tighter still.

Seeded through the SLA service, before the tickets, so every demo ticket has its clock; a policy
whose name exists is left alone, so a rerun creates nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.automation.sla import service as sla_service
from okno.automation.sla.schemas import SlaPolicyCreate

HOUR = 60
DAY = 24 * HOUR

POLICIES: list[dict[str, Any]] = [
    {
        "name": "Priority support: urgent",
        "conditions": {"plans": ["priority"], "priorities": ["urgent"]},
        # Around the clock: an urgent problem of a paying customer does not wait for Monday.
        "business_hours": False,
        "targets": {
            "first_response": {"default": 15},
            "next_response": {"default": 30},
            "resolution": {"default": 4 * HOUR},
        },
    },
    {
        "name": "Priority support",
        "conditions": {"plans": ["priority"]},
        "targets": {
            "first_response": {"default": HOUR, "high": 30},
            "next_response": {"default": 2 * HOUR, "high": HOUR},
            "resolution": {"default": DAY, "high": 8 * HOUR},
        },
    },
    {
        "name": "Standard",
        "conditions": {"plans": ["standard"]},
        "targets": {
            "first_response": {"default": 4 * HOUR, "urgent": HOUR, "high": 2 * HOUR},
            "next_response": {"default": 8 * HOUR, "urgent": 2 * HOUR},
            "resolution": {"default": 3 * DAY, "urgent": 8 * HOUR},
        },
    },
    {
        "name": "Everyone else",
        "conditions": {},
        "targets": {
            "first_response": {"default": 8 * HOUR, "urgent": 2 * HOUR},
            "next_response": {"default": DAY},
            "resolution": {"default": 5 * DAY, "urgent": DAY},
        },
    },
]


def seed_sla_policies(session: Session) -> None:
    system = Actor.system("demo")
    known = {p.name for p in sla_service.list_policies(session, system)}
    for policy in POLICIES:
        if policy["name"] not in known:
            sla_service.create_policy(session, system, data=SlaPolicyCreate.model_validate(policy))
