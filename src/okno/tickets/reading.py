"""Read marks: which messages the other side of a conversation has read (the chat widget's ticks).

An agent who has a chat ticket open has read the customer's messages up to the newest one the
page shows; a visitor whose widget shows an agent's reply has read it. The first read is kept on
the message (``read_at``, never set back) and told to both sides at once as a signal
(``messages_read``), which the customer may see too (``CUSTOMER_VISIBLE_SIGNALS``). A reply read
in the chat widget has reached its customer: its delivery is done.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.db import utcnow
from okno.realtime import make_signal, signal_after_commit
from okno.tickets.access import get_ticket
from okno.tickets.feed import facts_of
from okno.tickets.models import Channel, DeliveryStatus, Message, MessageKind

SIGNAL = "messages_read"


def mark_read(session: Session, actor: Actor, ticket_id: int, *, up_to_message_id: int) -> list[int]:
    """Marks the other side's messages up to ``up_to_message_id`` read; returns the ids newly read.

    Staff read customers' messages, customers read agents' public replies (never notes). A ticket
    the actor may not see is not found. Reading what was read already changes nothing and sends
    nothing, so a page may say it as often as it likes.
    """
    if actor.is_system or not (actor.is_staff or actor.is_customer):
        return []
    ticket = get_ticket(session, actor, ticket_id)
    kind = MessageKind.inbound if actor.is_staff else MessageKind.reply
    ids = list(
        session.scalars(
            sa.select(Message.id)
            .where(
                Message.ticket_id == ticket.id,
                Message.kind == kind,
                Message.id <= up_to_message_id,
                Message.read_at.is_(None),
            )
            .order_by(Message.id)
        )
    )
    if not ids:
        return []
    now = utcnow(session)
    session.execute(sa.update(Message).where(Message.id.in_(ids)).values(read_at=now))
    if actor.is_customer:
        session.execute(
            sa.update(Message)
            .where(
                Message.id.in_(ids),
                Message.channel == Channel.chat,
                Message.delivery_status == DeliveryStatus.queued,
            )
            .values(delivery_status=DeliveryStatus.sent, delivery_error=None)
        )
    signal_after_commit(
        session,
        make_signal(
            SIGNAL,
            actor_id=actor.user_id,
            occurred_at=now.isoformat(),
            data={"message_ids": ids, "by": "agent" if actor.is_staff else "customer"},
            ticket_id=ticket.id,
            facts=facts_of(session, ticket.id),
        ),
    )
    return ids
