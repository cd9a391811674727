"""Shared set-up for rule tests: a worker that runs reactions, creating rules, reading events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from okno.accounts.permissions import Actor
from okno.automation.rules import service
from okno.automation.rules.schemas import RuleCreate
from okno.config import Settings
from okno.db import Database
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.storage import FileStorage
from okno.tickets.models import TicketEvent

TIMEOUT = 0.05


def make_worker(db: Database, tmp_path: Path, name: str = "w1") -> Worker:
    settings = Settings(data_dir=tmp_path, secret_key="test-secret")
    return Worker(db, context=JobContext(settings=settings, storage=FileStorage(tmp_path / "files")), name=name)


def make_rule(db: Database, admin: Actor, **fields: Any) -> int:
    data = {"name": "A rule", "triggers": ["ticket_created"], **fields}
    with db.write() as session:
        return service.create_rule(session, admin, data=RuleCreate.model_validate(data), regex_timeout=TIMEOUT).id


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def act(kind: str, value: Any = None) -> dict[str, Any]:
    return {"type": kind, "value": value}


def events(db: Database, ticket_id: int, kind: str | None = None) -> list[TicketEvent]:
    with db.read() as session:
        query = sa.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        if kind is not None:
            query = query.where(TicketEvent.kind == kind)
        return list(session.scalars(query))
