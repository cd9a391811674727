"""Closing chat conversations nobody continues: solved after the widget's ``idle_close_minutes``.

A conversation is idle when an agent had the last word (the visitor waits for nothing) and
nothing was written since for the widget's idle time. It is solved like any ticket
(``tickets.changes``), so its event tells the widget (``closed``) and everything that follows
ticket changes; the visitor may still write, which reopens it. A visitor still waiting for an
answer is never closed on: that is the desk's delay, not the visitor's. Conversations answered
by email (``offline``) keep the email channel's pace and are not closed here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.channels.chat.models import ChatConversation
from okno.channels.chat.visitors import SYSTEM
from okno.channels.widget import service as widget_service
from okno.errors import OknoError
from okno.tickets import public_view
from okno.tickets.changes import update_ticket
from okno.tickets.models import TicketStatus
from okno.tickets.schemas import TicketUpdate

log = logging.getLogger(__name__)

BATCH = 500
FINISHED = {TicketStatus.solved, TicketStatus.closed}


def close_idle(session: Session, *, now: datetime) -> list[int]:
    """Solves the idle conversations; returns their ticket ids. Finished ones stop being watched."""
    rows = list(
        session.scalars(
            sa.select(ChatConversation)
            .where(ChatConversation.closed_at.is_(None), ChatConversation.offline.is_(False))
            .order_by(ChatConversation.ticket_id)
            .limit(BATCH)
        )
    )
    states = public_view.states(session, {row.ticket_id for row in rows})
    idle_minutes: dict[int, int] = {}
    closed: list[int] = []
    for row in rows:
        state = states.get(row.ticket_id)
        if state is None or state.status in FINISHED or state.merged_into_id is not None:
            row.closed_at = now  # solved by an agent (or merged away): nothing to wait for
            continue
        if row.widget_id not in idle_minutes:
            idle_minutes[row.widget_id] = widget_service.get_widget(session, SYSTEM, row.widget_id).idle_close_minutes
        if state.waiting_since is not None:
            continue
        if state.last_activity_at > now - timedelta(minutes=idle_minutes[row.widget_id]):
            continue
        try:
            with session.begin_nested():
                update_ticket(session, SYSTEM, row.ticket_id, changes=TicketUpdate(status=TicketStatus.solved))
        except OknoError as exc:
            log.warning("could not close idle chat %s: %s", row.ticket_id, exc)
            continue
        row.closed_at = now
        closed.append(row.ticket_id)
    session.flush()
    return closed
