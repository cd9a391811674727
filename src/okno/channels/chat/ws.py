"""``/widget/{key}/ws?token=…``: a visitor's live chat, over a WebSocket from a page of another site.

The handshake is refused unless the page's ``Origin`` is on the widget's allow-list and the
token is one of this widget's visitors; no cookie is read. The connection follows the realtime
bus as the visitor's customer (the permission layer's filter), narrowed to the conversations
this visitor may follow (``service.visible_ticket_ids``), so one visitor never receives another's
messages. A fresh connection starts with the ``history``; a reconnect with ``after=<event id>``
gets what it missed from the event log instead. Frames: see ``frames``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from okno.channels.chat import frames, service, throttle, visitors
from okno.channels.chat.visitors import Visitor
from okno.channels.widget import service as widget_service
from okno.channels.widget.service import WidgetSettings
from okno.errors import Forbidden, OknoError, okno_error_response
from okno.http.deps import unit_of_work
from okno.realtime import Envelope, Stream, make_signal
from okno.runtime import Runtime
from okno.tickets.feed import facts_of

log = logging.getLogger(__name__)
router = APIRouter()
T = TypeVar("T")

MAX_FRAME_CHARS = 4 * service.MAX_BODY_CHARS + 2000
FACTS_TTL_SECONDS = 30.0


def buckets(websocket: WebSocket) -> throttle.Buckets:
    """One set of buckets per application (process), shared by its chat connections."""
    state = websocket.app.state
    if not hasattr(state, "chat_buckets"):
        state.chat_buckets = throttle.Buckets()
    found: throttle.Buckets = state.chat_buckets
    return found


@router.websocket("/widget/{key}/ws")
async def widget_socket(websocket: WebSocket, key: str, token: str | None = None, after: int | None = None) -> None:
    runtime: Runtime = websocket.app.state.runtime
    origin = websocket.headers.get("origin")

    def admit() -> tuple[WidgetSettings, Visitor]:
        with runtime.db.read() as session:
            widget = widget_service.settings_by_key(session, key)
            if not widget_service.origin_allowed(widget, origin):
                raise Forbidden("This site is not allowed to use the chat widget.", code="origin_not_allowed")
            return widget, visitors.by_token(session, widget, token)

    try:
        widget, visitor = await run_in_threadpool(admit)
    except OknoError as exc:
        await websocket.send_denial_response(okno_error_response(exc))
        return
    await websocket.accept()
    client = websocket.client.host if websocket.client else "unknown"
    connection = ChatConnection(runtime, websocket, widget, visitor, token or "", client, buckets(websocket))
    await connection.run(after)


class ChatConnection:
    def __init__(
        self,
        runtime: Runtime,
        websocket: WebSocket,
        widget: WidgetSettings,
        visitor: Visitor,
        token: str,
        client: str,
        limits: throttle.Buckets,
    ) -> None:
        self.runtime = runtime
        self.websocket = websocket
        self.widget = widget
        self.visitor = visitor
        self.token = token
        self.client = client
        self.limits = limits
        self.allowed: set[int] = set()
        self.cursor = 0
        self.sent_messages: set[int] = set()
        self._facts: dict[int, tuple[float, dict[str, Any]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()

    # --- plumbing ------------------------------------------------------------------------------
    async def _read(self, work: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with self.runtime.db.read() as session:
                return work(session, *args)

        return await run_in_threadpool(run)

    async def _write(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with unit_of_work(self.runtime, writes=True) as session:
            return await run_in_threadpool(work, session, *args, **kwargs)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(frame)

    # --- the connection's life -----------------------------------------------------------------
    async def run(self, after: int | None) -> None:
        if after is None:
            history = await self._read(frames.history, self.visitor)
            self.allowed = {c["id"] for c in history["conversations"]}
            self.sent_messages = {m["id"] for c in history["conversations"] for m in c["messages"]}
            self.cursor = history["cursor"]
            await self.send(history)
        else:
            self.allowed = await self._read(service.visible_ticket_ids, self.visitor)
            self.cursor = after
        self._restart_pump()
        try:
            await self._receive()
        finally:
            if self._pump is not None:
                self._pump.cancel()

    def _restart_pump(self) -> None:
        """Follows the bus as the visitor is now; a new customer (an address given) means a new filter."""
        if self._pump is not None:
            self._pump.cancel()
        stream = Stream(self.runtime.bus, self.runtime.db.read, self.visitor.actor, after_id=self.cursor)
        self._pump = asyncio.create_task(self._forward(stream))

    async def _forward(self, stream: Stream) -> None:
        try:
            async for envelope in stream:
                try:
                    frame = await self._frame(envelope)
                except OknoError:
                    log.exception("chat event %s could not be told to visitor %s", envelope.id, self.visitor.id)
                    continue
                if frame is not None:
                    await self.send(frame)
        except OverflowError:
            await self.websocket.close(code=4409, reason="too far behind; reconnect with after")
        except (WebSocketDisconnect, RuntimeError):
            pass  # the visitor went away; the receiving side ends the connection

    async def _frame(self, envelope: Envelope) -> dict[str, Any] | None:
        if envelope.is_signal:
            return frames.from_signal(envelope) if envelope.ticket_id in self.allowed else None
        self.cursor = max(self.cursor, envelope.id)
        if envelope.ticket_id not in self.allowed:
            if envelope.kind != "created":
                return None
            # A conversation started in another tab of the same visitor: follow it too.
            self.allowed = await self._read(service.visible_ticket_ids, self.visitor)
            if envelope.ticket_id not in self.allowed:
                return None
        frame = await self._read(frames.from_event, self.visitor, envelope)
        if frame is not None and frame["type"] == "message":
            message_id = frame["message"]["id"]
            if message_id in self.sent_messages:
                return None
            self.sent_messages.add(message_id)
        if frame is not None:
            frame["event_id"] = envelope.id
        return frame

    async def _receive(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:  # a binary frame: the widget speaks JSON text only
                    await self.send(frames.error("invalid", "Send JSON text frames."))
                    continue
                if len(text) > MAX_FRAME_CHARS:
                    await self.send(frames.error("too_large", "The message is too long."))
                    continue
                try:
                    frame = frames.FRAME.validate_python(json.loads(text))
                except ValueError as exc:
                    await self.send(_invalid(exc))
                    continue
                await self._handle(frame)

    async def _handle(self, frame: frames.Frame) -> None:
        now = time.monotonic()
        if isinstance(frame, frames.TypingFrame):
            if frame.conversation_id in self.allowed and self.limits.allow(
                f"typing:{self.visitor.id}:{frame.conversation_id}", throttle.TYPING, now
            ):
                await self._typing(frame.conversation_id)
            return
        if isinstance(frame, frames.ReadFrame):
            if frame.conversation_id in self.allowed and self.limits.allow(
                f"read:{self.visitor.id}", throttle.READS, now
            ):
                with contextlib.suppress(OknoError):
                    await self._write(
                        service.mark_read,
                        self.visitor,
                        conversation_id=frame.conversation_id,
                        message_id=frame.message_id,
                    )
            return
        ref = frame.ref
        checks = [
            (f"messages:{self.visitor.id}", throttle.MESSAGES_PER_VISITOR),
            (f"messages-client:{self.client}", throttle.MESSAGES_PER_CLIENT),
        ]
        if not self.limits.allow_all(checks, now):
            await self.send(frames.error("rate_limited", "Slow down a little, please.", ref=ref))
            return
        try:
            if isinstance(frame, frames.StartFrame):
                await self._start(frame)
            else:
                written = await self._write(
                    service.write, self.widget, token=self.token, conversation_id=frame.conversation_id, body=frame.body
                )
                self._follow(written.conversation_id)
                await self._refresh_visitor(written.visitor)
                await self.send(
                    {
                        "type": "sent",
                        "ref": ref,
                        "conversation_id": written.conversation_id,
                        "message_id": written.message_id,
                        "follows_conversation_id": written.follows_conversation_id,
                    }
                )
        except OknoError as exc:
            await self.send(_from_error(exc, ref))

    async def _start(self, frame: frames.StartFrame) -> None:
        written = await self._write(
            service.start,
            self.widget,
            token=self.token,
            topic_id=frame.topic_id,
            name=frame.name,
            email=str(frame.email) if frame.email else None,
            body=frame.body,
            client=self.client,
            presence_timeout_seconds=self.runtime.settings.presence_timeout_seconds,
        )
        self._follow(written.conversation_id)
        await self._refresh_visitor(written.visitor)
        await self.send(
            {
                "type": "started",
                "ref": frame.ref,
                "conversation_id": written.conversation_id,
                "message_id": written.message_id,
                "offline": written.offline,
                "visitor": self.visitor.public(),
            }
        )

    async def _refresh_visitor(self, now: Visitor) -> None:
        """The visitor as the message just written found them. They may have become another customer (an
        address given here, or confirmed meanwhile through the HTTP side): the bus's filter must follow,
        resuming from the cursor (nothing is lost), and what they may follow is read again."""
        before, self.visitor = self.visitor, now
        if (now.customer_id, now.email_confirmed) != (before.customer_id, before.email_confirmed):
            self.allowed = await self._read(service.visible_ticket_ids, self.visitor)
            self._restart_pump()

    def _follow(self, conversation_id: int) -> None:
        self.allowed.add(conversation_id)

    async def _typing(self, ticket_id: int) -> None:
        cached = self._facts.get(ticket_id)
        if cached is None or time.monotonic() - cached[0] > FACTS_TTL_SECONDS:
            cached = (time.monotonic(), await self._read(facts_of, ticket_id))
            self._facts[ticket_id] = cached
        signal = make_signal(
            "customer_typing",
            actor_id=None,
            occurred_at=self.runtime.db.clock.now().isoformat(),
            data={"name": self.visitor.name},
            ticket_id=ticket_id,
            facts=cached[1],
        )
        await run_in_threadpool(self.runtime.bus.send_signal, signal)


def _from_error(exc: OknoError, ref: str | None) -> dict[str, Any]:
    field = None
    if isinstance(exc.details, list) and exc.details and isinstance(exc.details[0], dict):
        field = exc.details[0].get("field")
    return frames.error(exc.code, exc.message, field, ref)


def _invalid(exc: ValueError) -> dict[str, Any]:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        # The union's tag ("start", "message", …) leads the location; the field follows it.
        location = [str(part) for part in first["loc"]]
        if location and location[0] in {"start", "message", "typing", "read"}:
            location = location[1:]
        field = ".".join(location)
        return frames.error("invalid", first["msg"], field or None)
    return frames.error("invalid", "Send a JSON object with a type.")
