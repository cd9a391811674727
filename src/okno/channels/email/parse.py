"""A raw email (RFC 5322 bytes) into a ParsedEmail: the normalised inbound message plus what the parser noted.

Pure: no database, no network, no clock (the receiving time comes in as an argument), so a
quarantined mail can be parsed again after a fix and give the same result. It never raises on
bad input: whatever cannot be read is kept (as an attachment or a note) or skipped with a note.

Identity: ``external_id`` is the Message-ID with its angle brackets. A mail without one gets a
stable fallback, ``<sha256-of-the-raw-bytes@sha256.okno.invalid>`` (``external_id_is_fallback``):
the same bytes delivered twice give the same id; never an IMAP UID, which a server may reuse.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import BaseHeader
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime

from okno.channels.base import BounceInfo, InboundAttachment, InboundMessage, SenderIdentity
from okno.channels.email import classify, prescan
from okno.channels.email.charsets import decode_words
from okno.channels.email.html_text import cid_references, clean_html, readable_text
from okno.channels.email.parts import (
    Budget,
    Collected,
    DroppedAttachment,
    Forwarded,
    Limits,
    ParseNote,
    Walker,
    content_type,
    raw_header,
    raw_headers,
)
from okno.channels.email.quoting import split_quoted
from okno.channels.language import detect_language
from okno.tickets.models import Channel

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_ATTACHMENTS = 50
DEFAULT_MAX_PARTS = 300  # a real mail with 60 attachments has about 65 parts
MAX_SUBJECT = 998  # RFC 5322's line limit: longer is an attack or a bug, not a subject
MAX_NAME = 200
MAX_REFERENCES = 50
MAX_SPAM_HEADERS = 20
FUTURE_TOLERANCE = timedelta(days=1)  # clock skew; beyond it the Date header is not believed
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")
_BARE_ID = re.compile(r"^[^<>\s@]+@[^<>\s]+$")
_FOLDED = re.compile(r"\s+")
_ADDRESS_AS_NAME = re.compile(r'^\s*([^<>",\\]+@[^<>",\\]+?)\s*<([^<>\s"]+@[^<>\s"]+)>\s*$')


@dataclass(frozen=True)
class ParsedEmail:
    message: InboundMessage
    raw_sha256: str
    notes: tuple[ParseNote, ...]
    dropped: tuple[DroppedAttachment, ...]
    forwarded: tuple[Forwarded, ...]
    noise_reasons: tuple[str, ...]
    limits_hit: bool  # a MIME bomb or simply too big: parsing stopped early somewhere
    # For the spam filter (channels.spam): the HTML as sent, whose styles the sanitiser removes
    # (hidden text), and the verdict headers of a filter before Okno (X-Spam-Flag, X-Spam-Status ...).
    html_source: str = ""
    spam_headers: tuple[tuple[str, str], ...] = ()

    def has_note(self, code: str) -> bool:
        return any(note.code == code for note in self.notes)

    @property
    def attachments(self) -> tuple[InboundAttachment, ...]:
        return self.message.attachments


def _header_hint(message: Message) -> str | None:
    """The first declared text charset: the best guess for raw 8-bit bytes in headers."""
    for part in itertools.islice(message.walk(), 50):
        try:
            charset = part.get_content_charset()
        except Exception:
            continue
        if charset and charset.lower() not in {"us-ascii", "ascii", "utf-8"}:
            return charset
    return None


def _quote_address_like_name(value: str) -> str:
    """``service@bank.example <x@evil.example>`` is one mailbox whose display name is an address.

    Read as it stands, the standard parser makes it two mailboxes and the first, the name, would
    pass for the sender: the oldest way to impersonate someone. Quoted, the name stays a name.
    """
    found = _ADDRESS_AS_NAME.match(value)
    return f'"{found.group(1).strip()}" <{found.group(2)}>' if found else value


def _addresses(message: Message, name: str, hint: str | None) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs; unreadable entries are skipped."""
    values = [
        _quote_address_like_name(decode_words(value, hint=hint) if _has_8bit(value) else value)
        for value in raw_headers(message, name)
    ]
    pairs = []
    for display, address in getaddresses(values):
        address = address.strip().strip("<>").lower()
        if "@" not in address or len(address) > 320:
            continue
        pairs.append((decode_words(display, hint=hint).strip().strip('"').strip()[:MAX_NAME], address))
    return pairs


def _has_8bit(value: str) -> bool:
    return not value.isascii()


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MESSAGE_ID.findall(value)
    if not found and _BARE_ID.match(value.strip()):
        found = [f"<{value.strip()}>"]
    return found


def _sent_at(message: Message, received_at: datetime | None, notes: Collected) -> datetime | None:
    value = raw_header(message, "date")
    if not value:
        notes.note("no_date", "no Date header; the receiving time is used")
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.note("invalid_date", f"unreadable Date header {value[:80]!r}")
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed < EARLIEST_DATE:
        notes.note("invalid_date", f"implausible Date {parsed.isoformat()}")
        return None
    if received_at is not None and parsed > received_at + FUTURE_TOLERANCE:
        notes.note("future_date", f"Date {parsed.isoformat()} is in the future; the receiving time is used")
        return None
    return parsed


_REREAD_HEADERS = frozenset({"content-type", "content-transfer-encoding", "content-disposition"})
_REREAD_MAX_CHARS = 400


class _MimeHeadersParsedOnce(EmailPolicy):
    """The standard library's default policy, but a MIME header's parsed form is kept for its next read.

    The policy parses a header again on every access, and the parser and the walker read each
    part's Content-Type a dozen times (the type, the boundary, the charset, the name): two thirds
    of the headers parsed per mail. The parsed headers are immutable, so a value seen before gets
    the same object back; only short values are kept, in a bounded cache.
    """

    def header_fetch_parse(self, name: str, value: str) -> BaseHeader:
        if type(value) is str and len(value) <= _REREAD_MAX_CHARS and name.lower() in _REREAD_HEADERS:
            return _parsed_header(name, value)
        return super().header_fetch_parse(name, value)  # type: ignore[no-any-return]


_POLICY = _MimeHeadersParsedOnce()


@functools.lru_cache(maxsize=512)
def _parsed_header(name: str, value: str) -> BaseHeader:
    return EmailPolicy.header_fetch_parse(_POLICY, name, value)  # type: ignore[no-any-return]


def _structure(raw: bytes, notes: Collected) -> tuple[Message, bool]:
    """The parsed message; a structure too deep for the parser falls back to headers plus the raw body."""
    try:
        return BytesParser(policy=_POLICY).parsebytes(raw), True
    except RecursionError:
        notes.note("too_deep", "the MIME structure is nested too deeply to read; the mail is kept as a file")
        return BytesHeaderParser(policy=_POLICY).parsebytes(raw), False


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    max_parts: int = DEFAULT_MAX_PARTS,
    received_at: datetime | None = None,
) -> ParsedEmail:
    """Everything a help desk needs from one raw email; never raises on bad input."""
    raw_sha256 = hashlib.sha256(raw).hexdigest()
    collected = Collected()
    limits = Limits(max_attachment_bytes, max_attachments, max_parts)
    budget = Budget(limits)
    bounded = prescan.bound_parts(raw, max_parts=max_parts, max_containers=limits.max_depth * 3, note=collected.note)
    bounded, _ = prescan.elide_oversized(bounded, max_attachment_bytes)
    message, structured = _structure(bounded, collected)
    hint = _header_hint(message) if structured else None
    walker = Walker(budget, collected, hint=hint)
    if structured:
        walker.visit(message)
    else:
        walker.keep(None, raw, name="original.eml", ctype="message/rfc822")

    subject = decode_words(raw_header(message, "subject") or "", hint=hint).strip()
    subject = re.sub(r"\s+", " ", subject)
    if len(subject) > MAX_SUBJECT:
        collected.note("subject_truncated", f"the subject had {len(subject)} characters")
        subject = subject[:MAX_SUBJECT]
    sender_pairs = (
        _addresses(message, "from", hint)
        or _addresses(message, "sender", hint)
        or _addresses(message, "reply-to", hint)
    )
    if not sender_pairs:
        collected.note("no_sender", "no readable From address")
    sender_name, sender_email = sender_pairs[0] if sender_pairs else ("", None)

    message_ids = _ids(raw_header(message, "message-id"))
    if message_ids:
        external_id, fallback = message_ids[0], False
    else:
        external_id, fallback = f"<{raw_sha256}@sha256.okno.invalid>", True
        collected.note("no_message_id", "no Message-ID; the id is the SHA-256 of the raw bytes")
    in_reply_to = next(iter(_ids(raw_header(message, "in-reply-to"))), None)
    references = _ids(" ".join(raw_headers(message, "references")))[-MAX_REFERENCES:]

    plain = "\n\n".join(text.strip() for text in collected.plain if text.strip())
    body_html = None
    html_text = ""
    if collected.html:
        body_html, pixels = clean_html("\n".join(collected.html))
        if pixels:
            collected.note("tracking_pixels_removed", f"{pixels} tracking image(s) removed")
        html_text = readable_text(body_html)
    body_text = plain or html_text
    split = split_quoted(body_text)
    new_text, quoted_text = split.new_text, split.quoted_text
    if collected.forwarded:
        summaries = "\n\n".join(item.summary() for item in collected.forwarded)
        body_text = f"{body_text}\n\n{summaries}".strip()
        new_text = f"{new_text}\n\n{summaries}".strip()

    # A file is inline when the HTML places it; it is shown there only if its bytes are a raster image.
    placed = cid_references(body_html or "")
    attachments = tuple(
        replace(attachment, is_inline=attachment.content_id is not None and attachment.content_id in placed)
        for attachment in collected.attachments
    )

    flags = classify.noise_flags(message, subject=subject, sender=sender_email)
    bounce: BounceInfo | None = classify.bounce_info(message, subject=subject, sender=sender_email, body_text=body_text)
    language = detect_language(new_text) or detect_language(f"{subject}\n{new_text}")
    sent_at = _sent_at(message, received_at, collected)
    limits_hit = budget.exhausted or not structured or collected.has("too_many_parts") or collected.has("too_deep")
    if limits_hit:
        collected.note("limits_hit", "parsing stopped at a limit; what was read before it is kept")

    inbound = InboundMessage(
        channel=Channel.email,
        sender=SenderIdentity(email=sender_email, name=sender_name or None),
        subject=subject,
        body_text=body_text,
        new_text=new_text,
        quoted_text=quoted_text,
        body_html=body_html,
        attachments=attachments,
        external_id=external_id,
        external_id_is_fallback=fallback,
        in_reply_to=in_reply_to,
        references=tuple(references),
        to=tuple(address for _, address in _addresses(message, "to", hint)),
        cc=tuple(address for _, address in _addresses(message, "cc", hint)),
        reply_to=tuple(address for _, address in _addresses(message, "reply-to", hint)),
        sent_at=sent_at,
        language=language,
        auto_submitted=flags.auto_submitted or bounce is not None,
        is_bulk=flags.is_bulk,
        is_bounce=bounce is not None,
        bounce=bounce,
        suppress_auto_reply=flags.suppress_auto_reply,
        sender_is_system=sender_email is not None and classify.is_system_address(sender_email),
        notes=tuple(str(note) for note in collected.notes),
    )
    return ParsedEmail(
        message=inbound,
        raw_sha256=raw_sha256,
        notes=tuple(collected.notes),
        dropped=tuple(collected.dropped),
        forwarded=tuple(collected.forwarded),
        noise_reasons=flags.reasons,
        limits_hit=limits_hit,
        html_source="\n".join(collected.html),
        spam_headers=tuple(
            (key, _FOLDED.sub(" ", str(value)).strip()[:MAX_NAME])
            for key, value in itertools.islice(message.raw_items(), 500)
            if key.lower().startswith("x-spam")
        )[:MAX_SPAM_HEADERS],
    )


__all__ = ["ParsedEmail", "content_type", "parse_email"]
