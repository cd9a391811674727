"""What happens after a ticket changes: rules, routing, SLA clocks, webhooks.

Every unit of work that records ticket events enqueues, in the same transaction, one
``tickets.react`` job per ticket it changed, carrying those events (their ids, and what the
reactions read of them: kind, actor, data; events never change). The job runs
the registered reactions in their order (rules before routing, routing before the SLA clock,
webhooks last) in one unit of work: their changes commit together, and a failure rolls all of
them back and retries, so a reaction writes only to the database or enqueues jobs of its own
for anything outside it (an email, an HTTP call).

Events that reactions record start the next round, one level deeper. Past ``MAX_DEPTH`` no
further round is queued: whatever the rules say, a chain of changes cannot feed itself forever.
A reaction may also leave marks (``mark``) that every later round of the same chain carries in
``Change.marks``: rules mark each rule that fired, so none fires twice in one chain.
The domains register their reactions here, so tickets never import them.

A ticket in the spam folder gets no reactions: no rule answers it, routing does not assign it,
no webhook tells of it. Only reactions registered with ``in_spam`` hear of it, and only of its
marking (``marked_spam``): the SLA clock, which drops its targets then, and webhooks, which tell
subscribers of the marking. Whether the ticket is in spam is read when the job runs, so a ticket
marked meanwhile is left alone too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import sqlalchemy as sa
import sqlalchemy.event
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.db import before_commit
from okno.errors import NotFound
from okno.jobs.registry import JobContext, enqueue_many, job
from okno.memo import Memo
from okno.tickets import access, automation_facts
from okno.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

REACT_JOB = "tickets.react"
MAX_DEPTH = 8
_DEPTH_KEY = "okno.reaction_depth"
_MARKS_KEY = "okno.reaction_marks"
# What reactions registered ``in_spam`` hear of a ticket in the spam folder.
SPAM_MARKING = "marked_spam"
_REACTING = Actor.system("reactions")


@dataclass(frozen=True)
class Change:
    """The events one unit of work recorded on one ticket; ``depth`` counts rounds of reactions before it."""

    ticket_id: int
    event_ids: tuple[int, ...]
    depth: int
    # Left by reactions in earlier rounds of this chain (``mark``); empty for a change made by a person.
    marks: frozenset[str] = frozenset()


class ChangedEvent(Protocol):
    """What ``takes`` may look at in an event: it is read as the change commits."""

    @property
    def kind(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


Reaction = Callable[[Session, Change, JobContext], None]
Wanted = Callable[[Session, frozenset[str]], bool]
Takes = Callable[[Sequence[ChangedEvent]], bool]


@dataclass(frozen=True)
class _Registered:
    order: int
    name: str
    run: Reaction
    kinds: frozenset[str] | None
    takes: Takes | None
    wanted: Memo[frozenset[str], bool] | None
    in_spam: bool


_reactions: dict[str, _Registered] = {}


def reaction(
    name: str,
    *,
    order: int,
    kinds: Iterable[str] | None = None,
    takes: Takes | None = None,
    wanted: Wanted | None = None,
    wanted_reads: Iterable[type] = (),
    in_spam: bool = False,
) -> Callable[[Reaction], Reaction]:
    """Registers a reaction to ticket changes; lower ``order`` runs first.

    ``kinds``: the event kinds it acts on (all when None). ``takes(events)``: whether it acts on
    a change with these events at all, judged from the events alone (routing passes over its own
    assignments coming back). ``wanted(session, kinds)``: a cheap
    look, in the changing unit of work, whether it could act on events of these kinds at all
    (an enabled webhook subscription that takes one of them). The job runs only the reactions
    that took the change when it committed; a change that none takes queues no job.
    A look is remembered in this process for a few seconds (``okno.memo``); ``wanted_reads`` names
    the models it reads, and a unit of work that changes one of them forgets it as it commits.
    ``in_spam``: it also hears of a ticket in the spam folder being marked as spam.
    """

    def register(run: Reaction) -> Reaction:
        known = _reactions.get(name)
        if known is not None and known.run is not run:
            raise ValueError(f"reaction {name!r} is registered twice")
        listed = frozenset(kinds) if kinds is not None else None
        look = Memo(f"reaction:{name}", wanted, reads=wanted_reads) if wanted is not None else None
        _reactions[name] = _Registered(order, name, run, listed, takes, look, in_spam)
        return run

    return register


def unregister(name: str) -> None:
    _reactions.pop(name, None)


def registered() -> list[str]:
    return [item.name for item in _ordered()]


def mark(session: Session, marker: str) -> None:
    """Carries ``marker`` into every later round of the chain this unit of work belongs to."""
    session.info.setdefault(_MARKS_KEY, set()).add(marker)


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
    by_ticket: dict[int, list[TicketEvent]] = {}
    for event in events:
        by_ticket.setdefault(event.ticket_id, []).append(event)
    marks = sorted(session.info.get(_MARKS_KEY, ()))
    jobs: list[tuple[dict[str, Any], str]] = []
    for ticket_id, changed in by_ticket.items():
        taking = _taking(session, changed)
        if not taking:
            continue
        event_ids = sorted(e.id for e in changed)
        payload: dict[str, Any] = {
            "ticket_id": ticket_id,
            "event_ids": event_ids,
            "events": automation_facts.as_carried(changed),
            "depth": depth,
        }
        if marks:
            payload["marks"] = marks
        if len(taking) < len(_reactions):
            payload["reactions"] = taking
        jobs.append((payload, f"{REACT_JOB}:{ticket_id}:{event_ids[0]}"))
    # One statement for all of them: a bulk change or a routing drain touches many tickets at once.
    enqueue_many(session, REACT_JOB, jobs)


def _taking(session: Session, events: list[TicketEvent]) -> list[str]:
    """The reactions, in order, that take a change with these events."""
    kinds = frozenset(e.kind for e in events)
    taking = []
    for item in _ordered():
        if item.kinds is not None and item.kinds.isdisjoint(kinds):
            continue
        if item.takes is not None and not item.takes(events):
            continue
        if item.wanted is not None and not item.wanted.get(session, kinds):
            continue
        taking.append(item.name)
    return taking


def _ordered() -> list[_Registered]:
    return sorted(_reactions.values(), key=lambda item: (item.order, item.name))


@job(REACT_JOB)
def react(session: Session, payload: dict[str, Any], context: JobContext) -> None:
    change = Change(
        ticket_id=int(payload["ticket_id"]),
        event_ids=tuple(int(i) for i in payload["event_ids"]),
        depth=int(payload.get("depth", 0)),
        marks=frozenset(str(m) for m in payload.get("marks", ())),
    )
    try:
        # Read whole and held (the session holds objects weakly): each reaction looks the ticket up
        # next, and finds it in the session.
        ticket: Ticket | None = access.get_ticket(session, _REACTING, change.ticket_id)
    except NotFound:
        ticket = None  # gone: each reaction copes with that
    spam = ticket is not None and ticket.spam_at is not None
    if spam:
        markings = session.scalars(
            sa.select(TicketEvent.id)
            .where(TicketEvent.id.in_(change.event_ids), TicketEvent.kind == SPAM_MARKING)
            .order_by(TicketEvent.id)
        )
        change = replace(change, event_ids=tuple(markings))
        if not change.event_ids:
            return
    if "events" in payload:
        automation_facts.remember_carried(session, payload["events"])
    session.info[_DEPTH_KEY] = change.depth + 1
    session.info[_MARKS_KEY] = set(change.marks)
    # The reactions that took the change when it committed (a job queued before they were named: all).
    taking = set(payload.get("reactions", _reactions))
    for item in _ordered():
        if item.name in taking and (item.in_spam or not spam):
            item.run(session, change, context)
