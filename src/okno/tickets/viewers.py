"""Who is looking at a ticket, and who is writing on it, right now: the collision warnings.

A workspace page tells the server over its live connection which ticket it shows and when its
agent types. Each becomes a signal on the realtime bus (never stored), sent to every process and
shown only to those who may see that ticket, like the ticket's own events. Pages forget a viewer
who stops repeating itself, so a closed laptop does not stay "viewing" for long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.clock import Clock
from okno.errors import NotFound
from okno.realtime import Bus, make_signal
from okno.schemas import is_id
from okno.tickets import access
from okno.tickets.feed import facts_of

# Per ticket and connection: a burst, then one more every so many seconds. Pages repeat "viewing"
# every 15 s and once for each newcomer, and "typing" every 2.5 s while keys are pressed.
RATE_LIMITS = {"viewing": (5, 3.0), "typing": (3, 2.0), "stopped_viewing": (5, 1.0)}
# "Read up to here" from a chat ticket's page: written down (tickets.reading), so asked for sparingly.
READ_LIMIT = (5, 2.0)
# Who may see a ticket is re-read this often, so a reassignment soon stops the signals.
FACTS_TTL_SECONDS = 30.0
COMPOSING = {"reply", "note"}
MAX_TICKETS_PER_CONNECTION = 50


class TicketViewers:
    """The signals one live connection (one page) sends about the tickets it shows."""

    def __init__(
        self,
        bus: Bus,
        read_session: Callable[[], AbstractContextManager[Session]],
        actor: Actor,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.read_session = read_session
        self.actor = actor
        self.clock = clock
        self.monotonic = monotonic
        self._facts: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self._allowance: dict[tuple[str, int], tuple[float, float]] = {}
        self.viewing: set[int] = set()

    def receive(self, message: object) -> None:
        """Handles one message from the page; anything malformed or not allowed is ignored."""
        if not self.actor.is_staff or not isinstance(message, dict):
            return
        kind, ticket_id = message.get("type"), message.get("ticket_id")
        if kind not in RATE_LIMITS or not is_id(ticket_id):
            return
        new_ticket = kind != "stopped_viewing" and ticket_id not in self.viewing
        if new_ticket and len(self.viewing) >= MAX_TICKETS_PER_CONNECTION:
            return
        facts = self._visibility(ticket_id)
        if facts is None or self._too_soon(kind, ticket_id):
            return
        data: dict[str, Any] = {"user_id": self.actor.user_id, "name": self.actor.name}
        if kind == "typing":
            composing = message.get("composing")
            data["composing"] = composing if composing in COMPOSING else "reply"
        if kind == "stopped_viewing":
            self.viewing.discard(ticket_id)
        else:
            self.viewing.add(ticket_id)
        self._send(kind, ticket_id, facts, data)
        if kind == "typing" and data["composing"] == "reply":
            # The customer may see that an answer is on its way (the chat widget shows it); never a note.
            self._send("agent_typing", ticket_id, {**facts, "audience": "customers"}, {"name": self.actor.name})

    def read_request(self, message: object) -> tuple[int, int] | None:
        """``{"type": "read", "ticket_id", "message_id"}`` from the page: (ticket, message) to mark, or None."""
        if not self.actor.is_staff or not isinstance(message, dict) or message.get("type") != "read":
            return None
        ticket_id, message_id = message.get("ticket_id"), message.get("message_id")
        if not (is_id(ticket_id) and is_id(message_id)):
            return None
        if self._visibility(ticket_id) is None or self._too_soon("read", ticket_id):
            return None
        return ticket_id, message_id

    def close(self) -> None:
        """The page went away: it stops viewing whatever it showed."""
        for ticket_id in sorted(self.viewing):
            cached = self._facts.get(ticket_id)
            if cached is not None and cached[1] is not None:
                data = {"user_id": self.actor.user_id, "name": self.actor.name}
                self._send("stopped_viewing", ticket_id, cached[1], data)
        self.viewing.clear()

    def _send(self, kind: str, ticket_id: int, facts: dict[str, Any], data: dict[str, Any]) -> None:
        signal = make_signal(
            kind,
            actor_id=self.actor.user_id,
            occurred_at=self.clock.now().isoformat(),
            data=data,
            ticket_id=ticket_id,
            facts=facts,
        )
        self.bus.send_signal(signal)

    def _too_soon(self, kind: str, ticket_id: int) -> bool:
        """A token bucket: a page may answer a newcomer at once, but cannot flood the bus."""
        burst, seconds_per_token = READ_LIMIT if kind == "read" else RATE_LIMITS[kind]
        now = self.monotonic()
        tokens, then = self._allowance.get((kind, ticket_id), (float(burst), now))
        tokens = min(float(burst), tokens + (now - then) / seconds_per_token)
        if tokens < 1:
            self._allowance[(kind, ticket_id)] = (tokens, now)
            return True
        self._allowance[(kind, ticket_id)] = (tokens - 1, now)
        return False

    def _visibility(self, ticket_id: int) -> dict[str, Any] | None:
        """The ticket's visibility facts if this agent may see it, else None (checked at most every 30 s)."""
        cached = self._facts.get(ticket_id)
        if cached is not None and self.monotonic() - cached[0] < FACTS_TTL_SECONDS:
            return cached[1]
        facts: dict[str, Any] | None
        with self.read_session() as session:
            try:
                access.get_ticket(session, self.actor, ticket_id)
                facts = facts_of(session, ticket_id)
            except NotFound:
                facts = None
        self._facts[ticket_id] = (self.monotonic(), facts)
        return facts
