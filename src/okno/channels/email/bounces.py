"""Delivery status notifications (bounces) for mail Okno sent.

A bounce never opens a ticket and is never answered. One that names a reply of ours (by the
Message-ID outbound.py gave it) goes onto that reply's ticket as an internal note, and a
permanent failure marks the reply undelivered with the reason, which the workspace shows on
the message. A bounce of an automatic acknowledgement marks that acknowledgement failed. Any
other bounce is dropped, with the reason kept on the stored mail.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts.permissions import Actor
from okno.channels.base import InboundMessage
from okno.channels.email.models import AutoReply
from okno.tickets import service as tickets_service
from okno.tickets import threads
from okno.tickets.models import DeliveryStatus, MessageKind
from okno.tickets.schemas import MessageCreate

UNKNOWN = "bounce for an unknown message"
NOTE_TEXT_LIMIT = 8000


def reason(message: InboundMessage) -> str:
    bounce = message.bounce
    if bounce is None:
        return "the mail server reported a delivery problem"
    parts = [p for p in (bounce.status, bounce.diagnostic) if p]
    return " ".join(parts) if parts else (bounce.action or "delivery failed")


def file_bounce(session: Session, message: InboundMessage) -> tuple[int | None, str | None]:
    """Files a bounce; returns the ticket it went to (or None) and why it was dropped (or None)."""
    original = message.bounce.original_message_id if message.bounce else None
    if not original:
        return None, UNKNOWN
    permanent = message.bounce is not None and message.bounce.permanent
    reply = threads.reply_by_external_id(session, original)
    if reply is None:
        ack = session.scalars(sa.select(AutoReply).where(AutoReply.external_id == original).limit(1)).first()
        if ack is None:
            return None, UNKNOWN
        if permanent:
            ack.delivery_status = DeliveryStatus.failed
            ack.delivery_error = reason(message)[:2000]
        return ack.ticket_id, None
    recipients = ", ".join(message.bounce.failed_recipients) if message.bounce else ""
    if permanent:
        reply.delivery_status = DeliveryStatus.failed
        reply.delivery_error = reason(message)[:2000]
        headline = f"A reply could not be delivered{f' to {recipients}' if recipients else ''}: {reason(message)}"
    else:
        headline = f"The mail server reports a delay delivering a reply: {reason(message)}"
    sender = message.sender.email or "the mail server"
    body = f"{headline}\n\nDelivery report from {sender}, subject {message.subject!r}:\n\n{message.body_text}"
    # A ticket merged meanwhile lives on in the one it was merged into.
    ticket_id = threads.ticket_by_external_ids(session, [original]) or reply.ticket_id
    tickets_service.add_message(
        session,
        Actor.system("email"),
        ticket_id,
        data=MessageCreate(kind=MessageKind.note, body=body[:NOTE_TEXT_LIMIT]),
    )
    return ticket_id, None
