"""Delivering agents' public replies through the channel their ticket lives on, from the outbox.

``tickets.service`` queues a ``channels.deliver_reply`` job with each public reply on a ticket
whose channel delivers replies (``tickets.models.DELIVERING_CHANNELS``). The job runs the
channel's adapter: a failure that may pass (a server down) raises, and the job retries with
back-off; one that never will (the address does not exist) marks the reply undelivered with
the reason, which the workspace shows on the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from okno.channels.base import PermanentDeliveryError
from okno.channels.chat import delivery as chat_delivery
from okno.channels.email import outbound
from okno.jobs.registry import JobContext
from okno.tickets import queries as ticket_queries
from okno.tickets.models import Channel, DeliveryStatus

if TYPE_CHECKING:
    from okno.tickets.models import Message

log = logging.getLogger(__name__)

JOB = "channels.deliver_reply"
Deliver = Callable[[Session, "Message", JobContext], None]
ADAPTERS: dict[Channel, Deliver] = {
    Channel.email: outbound.deliver,
    Channel.web: outbound.deliver_copy,
    Channel.portal: outbound.deliver_copy,
    Channel.chat: chat_delivery.deliver,
}


def deliver_reply(session: Session, message_id: int, context: JobContext) -> None:
    message = ticket_queries.reply_for_delivery(session, message_id)
    if message is None or message.delivery_status != DeliveryStatus.queued:
        return  # delivered (or given up) by an earlier run
    adapter = ADAPTERS.get(Channel(message.channel))
    if adapter is None:
        message.delivery_status = None
        return
    try:
        with session.begin_nested():
            adapter(session, message, context)
    except PermanentDeliveryError as exc:
        log.warning("reply %s not delivered: %s", message.id, exc)
        message.delivery_status = DeliveryStatus.failed
        message.delivery_error = str(exc)[:2000]
