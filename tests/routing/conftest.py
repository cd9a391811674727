"""Helpers for routing tests: a team that routes, agents online, a worker to run the reactions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from okno.accounts import presence
from okno.accounts.models import PresenceStatus
from okno.clock import FrozenClock
from okno.config import Settings
from okno.db import Database
from okno.jobs.registry import JobContext
from okno.jobs.worker import Worker
from okno.routing import profiles
from okno.routing.models import RoutingTeam
from okno.routing.schemas import AgentRoutingUpdate, TeamRoutingUpdate
from okno.storage import FileStorage
from okno.tickets import service as tickets_service
from okno.tickets.models import WAITING_FOR_AGENT, Channel, Ticket, TicketEvent
from okno.tickets.schemas import MessageIn
from okno.tickets.service import Incoming
from tests.factories.personas import Person, Personas


@dataclass
class Desk:
    db: Database
    people: Personas
    worker: Worker
    clock: FrozenClock

    def run(self) -> int:
        return self.worker.run_pending().done

    def policy(self, team_id: int, policy: str = "least_loaded", skill_match: str = "prefer") -> None:
        with self.db.write() as session:
            changes = TeamRoutingUpdate(policy=policy, skill_match=skill_match)  # type: ignore[arg-type]
            profiles.update_team(session, self.people.admin.actor, team_id, changes=changes)

    def capacity(self, person: Person, **capacities: int | None) -> None:
        with self.db.write() as session:
            profiles.update_agent(
                session,
                self.people.admin.actor,
                person.user_id,
                changes=AgentRoutingUpdate(capacities=capacities),
                presence_timeout_seconds=90,
            )

    def presence(self, person: Person, status: str) -> None:
        with self.db.write() as session:
            presence.set_status(session, person.actor, PresenceStatus(status))

    def chat(self, team_id: int | None, *, language: str | None = None, channel: str = "chat", **extra: Any) -> int:
        """A customer's new conversation arriving through a channel."""
        with self.db.write() as session:
            posted = tickets_service.receive(
                session,
                self.people.customer.actor,
                Incoming(
                    channel=Channel(channel),
                    subject=extra.get("subject", "Help"),
                    message=MessageIn(body="Hello, I need help."),
                    language=language,
                    team_id=team_id,
                ),
            )
            return posted.ticket.id

    def assignee(self, ticket_id: int) -> int | None:
        with self.db.read() as session:
            return session.scalar(sa.select(Ticket.assignee_id).where(Ticket.id == ticket_id))

    def waiting(self) -> list[int]:
        """Tickets of routed teams waiting for an agent."""
        with self.db.read() as session:
            routed = sa.select(RoutingTeam.team_id).where(RoutingTeam.policy != "manual")
            query = (
                sa.select(Ticket.id).where(sa.text(WAITING_FOR_AGENT), Ticket.team_id.in_(routed)).order_by(Ticket.id)
            )
            return list(session.scalars(query))

    def assigned_events(self, ticket_id: int) -> list[dict[str, Any]]:
        with self.db.read() as session:
            query = (
                sa.select(TicketEvent.data)
                .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "assigned")
                .order_by(TicketEvent.id)
            )
            return [dict(data) for data in session.scalars(query)]


@pytest.fixture
def desk(db: Database, people: Personas, clock: FrozenClock, tmp_path: Path) -> Desk:
    context = JobContext(settings=Settings(data_dir=tmp_path), storage=FileStorage(tmp_path / "files"))
    return Desk(db, people, Worker(db, context=context, name="w1"), clock)
