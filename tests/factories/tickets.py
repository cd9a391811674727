"""Tickets for tests, made through the real service."""

from __future__ import annotations

from typing import Any

from okno.accounts.permissions import Actor
from okno.db import Database
from okno.tickets import changes as ticket_changes
from okno.tickets import service
from okno.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate


def make_ticket(db: Database, actor: Actor, **fields: Any) -> int:
    data: dict[str, Any] = {"subject": "Where is my order?", "message": {"body": "It has not arrived."}}
    if not actor.is_customer and "customer_id" not in fields and "customer" not in fields:
        data["customer"] = {"email": "walk-in@customer.example.org", "name": "Walk-in"}
    data.update(fields)
    with db.write() as session:
        return service.create_ticket(session, actor, data=TicketCreate.model_validate(data)).id


def reply(db: Database, actor: Actor, ticket_id: int, body: str = "We are on it.", **fields: Any) -> int:
    with db.write() as session:
        posted = service.add_message(
            session, actor, ticket_id, data=MessageCreate.model_validate({"body": body, **fields})
        )
        return posted.message.ticket_id


def update(db: Database, actor: Actor, ticket_id: int, **changes: Any) -> None:
    with db.write() as session:
        ticket_changes.update_ticket(session, actor, ticket_id, changes=TicketUpdate.model_validate(changes))
