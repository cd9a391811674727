"""What the widget's WebSocket says, in JSON frames, and what it may be told.

Visitor → server: ``start`` {topic_id?, name?, email?, body, ref?}, ``message`` {conversation_id,
body, ref?}, ``typing`` {conversation_id}, ``read`` {conversation_id, message_id}.
Server → visitor: ``history`` (on a fresh connection: the visitor's conversations and a cursor),
``started``/``sent`` (the answer to ``start``/``message``, with the ``ref`` the widget gave),
``message``, ``typing`` (an agent writes a reply), ``read`` (an agent read the visitor's
messages), ``closed``, ``reopened`` and ``error`` {code, message, field}.

Frames that come from the event log carry its ``event_id``: the widget reconnects with the last
one it saw and the server sends what it missed from the log (``realtime.Stream``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, TypeAdapter
from sqlalchemy.orm import Session

from okno.channels.chat import service
from okno.channels.chat.service import MAX_BODY_CHARS
from okno.channels.chat.visitors import Visitor
from okno.realtime import Envelope
from okno.schemas import InputModel
from okno.tickets import public_view
from okno.tickets.models import TicketStatus
from okno.tickets.public_view import PublicMessage

HISTORY_MESSAGES = 1000
Ref = Annotated[str | None, Field(default=None, max_length=40)]
Body = Annotated[str, Field(max_length=2 * MAX_BODY_CHARS)]  # the service says "too long" below that
FINISHED = {TicketStatus.solved.value, TicketStatus.closed.value}


class StartFrame(InputModel):
    type: Literal["start"]
    topic_id: int | None = None
    name: str = Field(default="", max_length=200)
    email: EmailStr | None = None
    body: Body
    ref: Ref = None


class MessageFrame(InputModel):
    type: Literal["message"]
    conversation_id: int
    body: Body
    ref: Ref = None


class TypingFrame(InputModel):
    type: Literal["typing"]
    conversation_id: int


class ReadFrame(InputModel):
    type: Literal["read"]
    conversation_id: int
    message_id: int


Frame = Annotated[StartFrame | MessageFrame | TypingFrame | ReadFrame, Field(discriminator="type")]
FRAME = TypeAdapter(Frame)


def error(code: str, message: str, field: str | None = None, ref: str | None = None) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "field": field, "ref": ref}


def message_body(message: PublicMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": "visitor" if message.from_customer else "agent",
        "name": message.author_name,
        "text": message.body_text,
        # Sanitised with the allow-list when it was stored (visitors' text is escaped plain text).
        "html": message.body_html,
        "at": message.created_at.isoformat(),
        "read": message.read_at is not None,
    }


def history(session: Session, visitor: Visitor) -> dict[str, Any]:
    """Every conversation the visitor may follow, with its public messages; the cursor is read first."""
    cursor = public_view.latest_event_id(session)
    ids = service.visible_ticket_ids(session, visitor)
    states = public_view.states(session, ids)
    chats = service.conversation_rows(session, ids)
    messages = public_view.public_messages(session, visitor.actor, ids, limit=HISTORY_MESSAGES)
    by_ticket: dict[int, list[dict[str, Any]]] = {ticket_id: [] for ticket_id in ids}
    for message in messages:
        by_ticket[message.ticket_id].append(message_body(message))
    conversations = []
    for ticket_id in sorted(ids):
        state, chat = states[ticket_id], chats.get(ticket_id)
        conversations.append(
            {
                "id": ticket_id,
                "number": state.number,
                "status": state.status.value,
                "closed": state.status.value in FINISHED,
                "offline": bool(chat and chat.offline),
                "topic_id": chat.topic_id if chat else None,
                "messages": by_ticket[ticket_id],
            }
        )
    return {"type": "history", "cursor": cursor, "visitor": visitor.public(), "conversations": conversations}


def from_event(session: Session, visitor: Visitor, envelope: Envelope) -> dict[str, Any] | None:
    """The frame a logged event makes for the widget, if any (reads the message it names)."""
    data = envelope.data
    if envelope.kind in {"created", "message_received", "reply_sent"} and isinstance(data.get("message_id"), int):
        message = public_view.public_message(session, visitor.actor, data["message_id"])
        if message is None:
            return None
        return {
            "type": "message",
            "event_id": envelope.id,
            "conversation_id": message.ticket_id,
            "message": message_body(message),
        }
    if envelope.kind == "status_changed":
        kind = "closed" if data.get("new") in FINISHED else "reopened" if data.get("old") in FINISHED else None
        if kind is None:
            return None
        return {"type": kind, "event_id": envelope.id, "conversation_id": envelope.ticket_id, "status": data.get("new")}
    return None


def from_signal(envelope: Envelope) -> dict[str, Any] | None:
    """Agents typing a reply, agents having read: passing, never replayed."""
    if envelope.kind == "agent_typing":
        return {"type": "typing", "conversation_id": envelope.ticket_id, "name": envelope.data.get("name", "")}
    if envelope.kind == "messages_read" and envelope.data.get("by") == "agent":
        return {
            "type": "read",
            "conversation_id": envelope.ticket_id,
            "message_ids": envelope.data.get("message_ids", []),
        }
    return None
