"""Chat conversations: a visitor starts one, writes in it, reads the agents' replies.

A conversation is a ticket on the ``chat`` channel, opened and continued only through
``tickets.service.receive`` (so events, reactions and routing follow as for every channel) on
the team of the topic the visitor chose. When nobody of that team can answer live, the
conversation is still taken, with an email address to answer to (``offline``).

What a visitor may see is narrower than what their customer may see: the conversations this
visitor started, plus, once their address is confirmed, their customer's earlier chats
(``visible_ticket_ids``). Everything here goes through that set, then through the customer
actor's own permission filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import rate_limits
from okno.channels.base import InboundMessage, SenderIdentity
from okno.channels.chat import visitors
from okno.channels.chat.models import ChatConversation
from okno.channels.language import detect_language
from okno.channels.widget import service as widget_service
from okno.db import utcnow
from okno.errors import Invalid, NotFound
from okno.tickets import public_view, reading
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel, MessageKind
from okno.tickets.schemas import MessageCreate, MessageIn

if TYPE_CHECKING:
    from okno.channels.chat.visitors import Visitor
    from okno.channels.widget.service import WidgetSettings

HOUR = 3600
STARTS_PER_VISITOR = (10, HOUR)
STARTS_PER_CLIENT = (60, HOUR)
MAX_BODY_CHARS = 5000
PAST_CONVERSATIONS = 20


@dataclass(frozen=True)
class Written:
    """A visitor's message, stored: on which conversation (a new one for a closed conversation), and
    the visitor as they are now (a live connection follows them without reading them again)."""

    conversation_id: int
    message_id: int
    visitor: Visitor
    offline: bool = False
    follows_conversation_id: int | None = None


def _body(body: str) -> str:
    # Plain text: line breaks and tabs stay, other control characters go.
    text = "".join(ch for ch in body.replace("\r\n", "\n") if ch in "\n\t" or (ch >= " " and ch != "\x7f")).strip()
    if not text:
        raise Invalid("Write a message first.", field="body", code="empty")
    if len(text) > MAX_BODY_CHARS:
        raise Invalid(f"A message can be at most {MAX_BODY_CHARS} characters.", field="body", code="too_long")
    return text


def _subject(body: str, topic_label: str | None) -> str:
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    if len(first) > 80:
        first = first[:79].rstrip() + "…"
    return f"{topic_label}: {first}" if topic_label else first


def _inbound(row_name: str, email: str | None, public_id: str, body: str, subject: str = "") -> InboundMessage:
    return InboundMessage(
        channel=Channel.chat,
        sender=SenderIdentity(email=email, name=row_name or None, chat_id=public_id),
        subject=subject,
        body_text=body,
        new_text=body,
        language=detect_language(body),
    )


def _incoming(
    message: InboundMessage, *, team_id: int | None = None, continues_ticket_id: int | None = None
) -> tickets_service.Incoming:
    return tickets_service.Incoming(
        channel=message.channel,
        subject=message.subject,
        message=MessageIn(body=message.body_text),
        language=message.language,
        team_id=team_id,
        continues_ticket_id=continues_ticket_id,
    )


def start(
    session: Session,
    widget: WidgetSettings,
    *,
    token: str,
    topic_id: int | None,
    name: str,
    email: str | None,
    body: str,
    client: str,
    presence_timeout_seconds: int,
) -> Written:
    """A new conversation on the topic's team; without anyone online, only with an address to answer to."""
    row = visitors.row_by_token(session, widget, token, for_update=True)
    text = _body(body)
    topic = None
    if topic_id is not None:
        topic = widget.topic(topic_id)
        if topic is None:
            raise Invalid("Choose one of the topics.", field="topic_id", code="unknown_topic")
    limits = [
        rate_limits.Limit(f"chat-start:visitor:{row.id}", *STARTS_PER_VISITOR),
        rate_limits.Limit(f"chat-start:client:{client}", *STARTS_PER_CLIENT),
    ]
    rate_limits.check(session, limits, message="Too many conversations were started; try again later.")
    team_id = topic.team_id if topic is not None and topic.team_id is not None else widget.team_id
    now = utcnow(session)
    online = widget_service.team_available(session, team_id, now, timeout_seconds=presence_timeout_seconds)
    if name.strip():
        row.name = name.strip()[:200]
    if email:
        visitors.give_email(session, row, email=email)
    if not online and not row.email:
        raise Invalid(
            "Nobody can answer live now: leave your email and we will answer there.",
            field="email",
            code="email_required",
        )
    visitors.ensure_customer(session, row)
    visitor = visitors.by_token(session, widget, token)
    inbound = _inbound(row.name, row.email, row.public_id, text, _subject(text, topic.label if topic else None))
    posted = tickets_service.receive(session, visitor.actor, _incoming(inbound, team_id=team_id))
    session.add(
        ChatConversation(
            ticket_id=posted.ticket.id,
            widget_id=widget.id,
            visitor_id=row.id,
            topic_id=topic.id if topic else None,
            offline=not online,
            created_at=now,
        )
    )
    visitors.seen(row, now)
    if row.email and not row.email_confirmed:
        note = (
            f"The visitor gave the address {row.email} in the chat without confirming it: the conversation is "
            "filed under that customer, but the visitor may be someone else. They see only this chat."
        )
        tickets_service.add_message(
            session, visitors.SYSTEM, posted.ticket.id, data=MessageCreate(kind=MessageKind.note, body=note)
        )
    rate_limits.record(session, [limit.key for limit in limits])
    session.flush()
    return Written(posted.ticket.id, posted.message.id, visitors.value_of(row), offline=not online)


def visible_ticket_ids(session: Session, visitor: Visitor) -> set[int]:
    """The conversations this visitor may follow in the widget (see the module's docstring)."""
    if visitor.customer_id is None:
        return set()
    own = session.scalars(sa.select(ChatConversation.ticket_id).where(ChatConversation.visitor_id == visitor.id))
    ids = public_view.visible_ids(session, visitor.actor, own)
    if visitor.email_confirmed:
        ids |= set(public_view.ids_on_channel(session, visitor.actor, Channel.chat, limit=PAST_CONVERSATIONS))
    return ids


def _conversation(session: Session, visitor: Visitor, conversation_id: int) -> int:
    if conversation_id not in visible_ticket_ids(session, visitor):
        raise NotFound("No such conversation.", code="unknown_conversation")
    return conversation_id


def write(session: Session, widget: WidgetSettings, *, token: str, conversation_id: int, body: str) -> Written:
    """The visitor writes in a conversation: a solved one reopens, a closed one gets a follow-up."""
    row = visitors.row_by_token(session, widget, token, for_update=True)
    visitor = visitors.value_of(row)
    ticket_id = _conversation(session, visitor, conversation_id)
    text = _body(body)
    inbound = _inbound(row.name, row.email, row.public_id, text)
    posted = tickets_service.receive(session, visitor.actor, _incoming(inbound, continues_ticket_id=ticket_id))
    now = utcnow(session)
    visitors.seen(row, now)
    conversation = session.get(ChatConversation, ticket_id)
    if posted.ticket.id == ticket_id:
        if conversation is not None:
            conversation.closed_at = None  # written in again: idle time counts from now
        return Written(ticket_id, posted.message.id, visitor, offline=bool(conversation and conversation.offline))
    # The conversation was closed for good: the message opened a follow-up, which is a conversation too.
    session.add(
        ChatConversation(
            ticket_id=posted.ticket.id,
            widget_id=widget.id,
            visitor_id=row.id,
            topic_id=conversation.topic_id if conversation else None,
            offline=bool(conversation and conversation.offline),
            created_at=now,
        )
    )
    session.flush()
    return Written(posted.ticket.id, posted.message.id, visitor, follows_conversation_id=ticket_id)


def mark_read(session: Session, visitor: Visitor, *, conversation_id: int, message_id: int) -> list[int]:
    """The widget showed the agents' replies up to ``message_id``."""
    ticket_id = _conversation(session, visitor, conversation_id)
    return reading.mark_read(session, visitor.actor, ticket_id, up_to_message_id=message_id)


def conversation_rows(session: Session, ticket_ids: set[int]) -> dict[int, ChatConversation]:
    if not ticket_ids:
        return {}
    rows = session.scalars(sa.select(ChatConversation).where(ChatConversation.ticket_id.in_(sorted(ticket_ids))))
    return {row.ticket_id: row for row in rows}
