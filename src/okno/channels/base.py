"""The normalised inbound message every channel produces, and the delivery errors of sending.

A channel adapter turns its outside world (a raw email, a chat frame, a portal form) into an
``InboundMessage``; ``tickets.service`` takes it from there and never sees the channel's own
format. The message is a frozen value: a parser that runs twice on the same input gives an
equal message, which is what makes re-running a quarantined mail safe.

Sending goes the other way through the job outbox (``channels.delivery``): a channel's sender
says whether a failed delivery may succeed later (``TemporaryDeliveryError``: the job retries
with back-off) or never will (``PermanentDeliveryError``: the reply is marked undelivered and
an agent sees why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from okno.tickets.attachments import sniff_raster_image
from okno.tickets.models import Channel


@dataclass(frozen=True)
class SenderIdentity:
    """Who wrote: an email address (lower-cased) and display name, or a channel's own id (chat visitor)."""

    email: str | None = None
    name: str | None = None
    chat_id: str | None = None


@dataclass(frozen=True)
class InboundAttachment:
    """One file from an inbound message, already decoded.

    ``image_type`` is the raster type proven by the bytes (PNG, JPEG, GIF, WebP) or None:
    the declared ``content_type`` is the sender's claim and never decides what is shown inline.
    ``is_inline`` says the message places it in its body (``cid:`` reference or inline
    disposition with a Content-ID); it may be shown in place only when ``image_type`` is set.
    """

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None
    is_inline: bool = False
    image_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def shows_inline(self) -> bool:
        return self.is_inline and self.image_type is not None

    @classmethod
    def build(
        cls, *, filename: str, content_type: str, data: bytes, content_id: str | None = None, is_inline: bool = False
    ) -> InboundAttachment:
        return cls(
            filename=filename,
            content_type=content_type,
            data=data,
            content_id=content_id,
            is_inline=is_inline,
            image_type=sniff_raster_image(data[:16]),
        )


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery status notification (RFC 3464) says about a message we sent."""

    original_message_id: str | None
    failed_recipients: tuple[str, ...] = ()
    action: str | None = None  # failed, delayed, delivered, relayed, expanded
    status: str | None = None  # e.g. "5.1.1"
    diagnostic: str | None = None

    @property
    def permanent(self) -> bool:
        """The message will not be delivered: mark the reply undelivered (a "delayed" notice is not that)."""
        if self.action is not None:
            return self.action == "failed"
        return self.status is None or self.status.startswith("5")


@dataclass(frozen=True)
class InboundMessage:
    """One message from outside, in the same shape whatever the channel.

    ``external_id`` is the channel's id for de-duplication and threading (an email's Message-ID
    with its angle brackets; ``external_id_is_fallback`` when the mail had none and the id was
    computed from the raw bytes). ``body_text`` is the full text as sent; ``new_text`` and
    ``quoted_text`` split it into what the sender wrote now and the history they quoted, for
    folding in the display. ``body_html`` is sanitised (allow-list) or None.
    ``sent_at`` is the sender's claimed time (aware UTC) when it is believable, else None: the
    receiver uses its own receiving time then.
    """

    channel: Channel
    sender: SenderIdentity
    subject: str = ""
    body_text: str = ""
    new_text: str = ""
    quoted_text: str = ""
    body_html: str | None = None
    attachments: tuple[InboundAttachment, ...] = ()
    external_id: str | None = None
    external_id_is_fallback: bool = False
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    sent_at: datetime | None = None
    language: str | None = None
    # Loop and noise signals (RFC 3834): never answer these automatically.
    auto_submitted: bool = False
    is_bulk: bool = False
    is_bounce: bool = False
    bounce: BounceInfo | None = None
    suppress_auto_reply: bool = False
    sender_is_system: bool = False  # mailer-daemon, postmaster, no-reply: never a person to answer
    # What the parser had to drop, repair or guess, for the admin and the audit trail.
    notes: tuple[str, ...] = ()

    @property
    def may_auto_reply(self) -> bool:
        """Whether an automatic answer (acknowledgement, rule) may go to the sender."""
        return not (
            self.auto_submitted or self.is_bulk or self.is_bounce or self.suppress_auto_reply or self.sender_is_system
        )

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs that may name the conversation this belongs to, most specific first."""
        ids = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return tuple(dict.fromkeys(ids))


class DeliveryError(Exception):
    """A send that did not go through; ``retryable`` tells the outbox whether to try again."""

    retryable = False

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help: unknown recipient, message refused, bad configuration."""

    retryable = False


class TemporaryDeliveryError(DeliveryError):
    """The other side is busy or unreachable now: retry later (after ``retry_after`` seconds if it said)."""

    retryable = True

    def __init__(self, message: str, *, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after
