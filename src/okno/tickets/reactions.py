"""What happens after a ticket changes: rules, routing, SLA clocks, webhooks.

Every unit of work that records ticket events enqueues, in the same transaction, one
``tickets.react`` job per ticket it changed, carrying the ids of those events. The job runs
the registered reactions in their order (rules before routing, routing before the SLA clock,
webhooks last) in one unit of work: their changes commit together, and a failure rolls all of
them back and retries, so a reaction writes only to the database or enqueues jobs of its own
for anything outside it (an email, an HTTP call).

Events that reactions record start the next round, one level deeper. Past ``MAX_DEPTH`` no
further round is queued: whatever the rules say, a chain of changes cannot feed itself forever.
The domains register their reactions here, so tickets never import them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from okno.db import before_commit
from okno.jobs.registry import JobContext, enqueue_many, job

if TYPE_CHECKING:
    from okno.tickets.models import TicketEvent

log = logging.getLogger(__name__)

REACT_JOB = "tickets.react"
MAX_DEPTH = 8
_DEPTH_KEY = "okno.reaction_depth"


@dataclass(frozen=True)
class Change:
    """The events one unit of work recorded on one ticket; ``depth`` counts rounds of reactions before it."""

    ticket_id: int
    event_ids: tuple[int, ...]
    depth: int


Reaction = Callable[[Session, Change, JobContext], None]


@dataclass(frozen=True)
class _Registered:
    order: int
    name: str
    run: Reaction


_reactions: dict[str, _Registered] = {}


def reaction(name: str, *, order: int) -> Callable[[Reaction], Reaction]:
    """Registers a reaction to ticket changes; lower ``order`` runs first."""

    def register(run: Reaction) -> Reaction:
        known = _reactions.get(name)
        if known is not None and known.run is not run:
            raise ValueError(f"reaction {name!r} is registered twice")
        _reactions[name] = _Registered(order, name, run)
        return run

    return register


def unregister(name: str) -> None:
    _reactions.pop(name, None)


def registered() -> list[str]:
    return [item.name for item in sorted(_reactions.values(), key=lambda item: (item.order, item.name))]


def queue_when_committing(session: Session, new_events: Callable[[Session], list[TicketEvent]]) -> None:
    """Queues the reactions to the unit of work's new events (as ``new_events`` lists them then) as it commits."""
    if _reactions:
        before_commit(session, REACT_JOB, lambda at_commit: _enqueue_reactions(at_commit, new_events(at_commit)))


def _enqueue_reactions(session: Session, events: list[TicketEvent]) -> None:
    if not events:
        return
    depth = session.info.get(_DEPTH_KEY, 0)
    if depth >= MAX_DEPTH:
        log.warning("reactions stop after %s rounds on tickets %s", depth, sorted({e.ticket_id for e in events}))
        return
    by_ticket: dict[int, list[int]] = {}
    for event in events:
        by_ticket.setdefault(event.ticket_id, []).append(event.id)
    # One statement for all of them: a bulk change or a routing drain touches many tickets at once.
    jobs = [
        (
            {"ticket_id": ticket_id, "event_ids": sorted(event_ids), "depth": depth},
            f"{REACT_JOB}:{ticket_id}:{min(event_ids)}",
        )
        for ticket_id, event_ids in by_ticket.items()
    ]
    enqueue_many(session, REACT_JOB, jobs)


@job(REACT_JOB)
def react(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    change = Change(
        ticket_id=int(payload["ticket_id"]),
        event_ids=tuple(int(i) for i in payload["event_ids"]),
        depth=int(payload.get("depth", 0)),
    )
    session.info[_DEPTH_KEY] = change.depth + 1
    for item in sorted(_reactions.values(), key=lambda item: (item.order, item.name)):
        item.run(session, change, context)
