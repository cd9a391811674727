"""The workspace's inbox views: which tickets each holds and how many (counted up to a cap)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.tickets import queries, saved_views
from okno.tickets.models import TicketStatus as S

COUNT_CAP = 10_000
COUNT_TTL_SECONDS = 5.0
WORKING = [S.new, S.open, S.pending, S.on_hold]
# "SLA at risk": a running SLA target due within this long, or already breached.
SLA_AT_RISK_WITHIN = timedelta(hours=1)


def N_(message: str) -> str:
    """Marks a string for translation where it is shown, not here (the catalog extractor finds it)."""
    return message


@dataclass(frozen=True)
class InboxView:
    key: str
    title: str  # English source text; translated where shown
    filters: Callable[[Actor, datetime], queries.TicketFilters]
    sort: str | None = None  # the inbox's sort choice it opens with (else the inbox default)


VIEWS = [
    InboxView("mine", N_("My open"), lambda a, now: queries.TicketFilters(status=WORKING, assignee_id=a.user_id)),
    InboxView(
        "unassigned", N_("Unassigned"), lambda a, now: queries.TicketFilters(status=[S.new, S.open], unassigned=True)
    ),
    InboxView(
        "my_teams",
        N_("My teams"),
        lambda a, now: queries.TicketFilters(status=WORKING, team_id=sorted(a.team_ids) or [-1]),
    ),
    InboxView("all_open", N_("All open"), lambda a, now: queries.TicketFilters(status=[S.new, S.open])),
    InboxView(
        "sla_at_risk",
        N_("SLA at risk"),
        lambda a, now: queries.TicketFilters(sla_due_before=now + SLA_AT_RISK_WITHIN),
        sort="sla",
    ),
    InboxView("pending", N_("Pending"), lambda a, now: queries.TicketFilters(status=[S.pending])),
    InboxView(
        "solved",
        N_("Solved recently"),
        lambda a, now: queries.TicketFilters(status=[S.solved], updated_since=now - timedelta(days=7)),
    ),
    # Tickets in the spam folder, which no other view shows (docs/subsystems/spam.md).
    InboxView("spam", N_("Spam"), lambda a, now: queries.TicketFilters(spam=True)),
]
BY_KEY = {view.key: view for view in VIEWS}


class CountCache:
    """View counts per viewer, recomputed at most every few seconds: counting is the costly part.

    Saved views are counted the same way, keyed by their filters so an edited view is
    recounted at once. ``forget`` drops a viewer's counts after they changed tickets themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int | None, str, str], tuple[float, int]] = {}

    def get(self, session: Session, actor: Actor, now: datetime) -> dict[str, int]:
        wanted: list[tuple[str, str, queries.TicketFilters]] = [
            (view.key, "", view.filters(actor, now)) for view in VIEWS
        ]
        for saved in saved_views.list_views(session, actor):
            filters = saved_views.ticket_filters(actor, saved_views.stored_filters(saved))
            # Keyed by what it counts, so an edited view is counted afresh at once.
            version = json.dumps([saved.filters, saved.sort], sort_keys=True)
            wanted.append((f"saved-{saved.id}", version, filters))
        counts = {}
        fresh: dict[tuple[int | None, str, str], tuple[float, int]] = {}
        for key, version, filters in wanted:
            entry_key = (actor.user_id, key, version)
            with self._lock:
                cached = self._entries.get(entry_key)
            if cached is not None and time.monotonic() - cached[0] < COUNT_TTL_SECONDS:
                counts[key] = cached[1]
                continue
            value = count_capped(session, actor, filters)
            fresh[entry_key] = (time.monotonic(), value)
            counts[key] = value
        with self._lock:
            self._entries.update(fresh)
            if len(self._entries) > 50_000:  # deleted views and departed viewers: start over
                self._entries = fresh
        return counts

    def forget(self, user_id: int | None) -> None:
        with self._lock:
            for entry_key in [k for k in self._entries if k[0] == user_id]:
                del self._entries[entry_key]


def count_capped(
    session: Session, actor: Actor, filters: queries.TicketFilters, *narrower: queries.TicketFilters
) -> int:
    """The number of tickets, but at most COUNT_CAP + 1: exact counts of huge views are not worth their cost."""
    capped = (
        queries.filtered(actor, filters, *narrower).with_only_columns(sa.literal(1)).limit(COUNT_CAP + 1).subquery()
    )
    return int(session.scalar(sa.select(sa.func.count()).select_from(capped)) or 0)
