"""Delivering agents' replies on chat tickets: the widget at once, email for a visitor who left.

The reply reaches an open widget by itself, through the realtime bus, the moment it commits;
the widget then marks it read (``tickets.reading``), and a reply read there is delivered. The
outbox job (``channels.delivery``) only decides what happens if that does not follow: it queues
a check after ``OKNO_CHAT_UNREAD_EMAIL_SECONDS``, and a reply still unread then goes to the
customer's address by email, as replies on email tickets do. A conversation taken while
nobody was online (``offline``), or a chat ticket an agent logged by hand, is answered by email
at once. Without an address (or a mailbox) there is nothing more to deliver, which is not a
failure: the widget shows the reply whenever the visitor comes back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from okno.channels.base import PermanentDeliveryError
from okno.channels.chat.models import ChatConversation
from okno.channels.email import outbound
from okno.customers import queries as customers_queries
from okno.db import utcnow
from okno.jobs.registry import JobContext, enqueue
from okno.tickets import queries as ticket_queries
from okno.tickets.models import DeliveryStatus

if TYPE_CHECKING:
    from okno.tickets.models import Message

UNREAD_JOB = "chat.email_unread_reply"


def deliver(session: Session, message: Message, context: JobContext) -> None:
    if message.read_at is not None:
        message.delivery_status = DeliveryStatus.sent
        return
    conversation = session.get(ChatConversation, message.ticket_id)
    if conversation is None or conversation.offline:
        _by_email(session, message, context)
        return
    later = utcnow(session) + timedelta(seconds=context.settings.chat_unread_email_seconds)
    enqueue(session, UNREAD_JOB, {"message_id": message.id}, key=f"{UNREAD_JOB}:{message.id}", run_at=later)


def email_if_unread(session: Session, message_id: int, context: JobContext) -> None:
    """The visitor has not read the reply in the widget by now: it goes by email, if it can."""
    message = ticket_queries.reply_for_delivery(session, message_id)
    if message is None or message.delivery_status != DeliveryStatus.queued:
        return
    if message.read_at is not None:
        message.delivery_status = DeliveryStatus.sent
        return
    try:
        with session.begin_nested():
            _by_email(session, message, context)
    except PermanentDeliveryError as exc:
        message.delivery_status = DeliveryStatus.failed
        message.delivery_error = str(exc)[:2000]


def _by_email(session: Session, message: Message, context: JobContext) -> None:
    thread = ticket_queries.reply_thread(session, message, limit=1)
    _name, email = customers_queries.summaries(session, {thread.customer_id}).get(thread.customer_id, ("", None))
    if email is None:
        message.delivery_status = None  # an anonymous visitor: the widget is the only way, and it has it
        return
    outbound.deliver_copy(session, message, context)
