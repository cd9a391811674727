"""SLA policies for tests, made through the real service."""

from __future__ import annotations

from typing import Any

from okno.accounts.permissions import Actor
from okno.automation.sla import service
from okno.automation.sla.schemas import SlaPolicyCreate
from okno.db import Database

STANDARD_TARGETS: dict[str, Any] = {
    "first_response": {"default": 60},
    "next_response": {"default": 120},
    "resolution": {"default": 480},
}


def make_policy(db: Database, **fields: Any) -> int:
    """A policy in calendar time (so tests need no calendar), by default for every ticket."""
    data: dict[str, Any] = {"name": "Standard", "targets": STANDARD_TARGETS, "business_hours": False, **fields}
    with db.write() as session:
        return service.create_policy(session, Actor.system("tests"), data=SlaPolicyCreate.model_validate(data)).id
