"""The MIME walk: bodies, attachments, forwarded messages, TNEF, signed and encrypted parts, limits.

Everything here is bounded: a part budget shared by the whole message (including forwarded
messages inside it), a nesting depth, a per-file size and a file count. Hitting a limit stops
that branch, records a note and keeps everything found so far; it never raises.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message

from okno.channels.base import InboundAttachment
from okno.channels.email import tnef
from okno.channels.email.charsets import decode_bytes, decode_words
from okno.channels.email.html_text import clean_html, readable_text
from okno.channels.email.prescan import ELIDED_HEADER
from okno.tickets.attachments import safe_filename

TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
SMIME_TYPES = {"application/pkcs7-mime", "application/x-pkcs7-mime"}
FORWARDED_TYPES = {"message/rfc822", "message/global"}
_CONTENT_ID = re.compile(r"<?\s*([^<>\s]+)\s*>?")
FORWARD_SNIPPET = 500


@dataclass(frozen=True)
class ParseNote:
    """Something the parser dropped, repaired or guessed: ``code`` for programs, ``detail`` for people."""

    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class DroppedAttachment:
    filename: str
    content_type: str
    size: int
    reason: str  # "too_large" or "too_many"


@dataclass(frozen=True)
class Forwarded:
    """A message/rfc822 part: kept whole as an .eml attachment, summarised here."""

    subject: str
    sender: str
    date: str
    snippet: str

    def summary(self) -> str:
        lines = [f"---------- Forwarded message: {self.subject or '(no subject)'} ----------"]
        lines += [f"{label}: {value}" for label, value in (("From", self.sender), ("Date", self.date)) if value]
        return "\n".join([*lines, "", self.snippet]).strip()


@dataclass(frozen=True)
class Limits:
    max_attachment_bytes: int
    max_attachments: int
    max_parts: int
    max_depth: int = 20


@dataclass
class Budget:
    """Shared by a message and every message forwarded inside it."""

    limits: Limits
    parts: int = 0
    exhausted: bool = False


@dataclass
class Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    dropped: list[DroppedAttachment] = field(default_factory=list)
    forwarded: list[Forwarded] = field(default_factory=list)
    notes: list[ParseNote] = field(default_factory=list)

    def has(self, code: str) -> bool:
        return any(note.code == code for note in self.notes)

    def note(self, code: str, detail: str = "") -> None:
        candidate = ParseNote(code, detail)
        if candidate not in self.notes and len(self.notes) < 100:
            self.notes.append(candidate)


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def raw_header(message: Message, name: str) -> str | None:
    """The first header of that name as it was sent (unfolded), without the modern policy's parsing."""
    for key, value in message.raw_items():
        if key.lower() == name:
            return _FOLD.sub("", str(value)).strip()
    return None


def raw_headers(message: Message, name: str) -> list[str]:
    return [_FOLD.sub("", str(value)).strip() for key, value in message.raw_items() if key.lower() == name]


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def filename_of(part: Message, *, hint: str | None) -> str | None:
    """The attachment's name from Content-Disposition or Content-Type, in whatever encoding it came."""
    name: str | None = None
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = raw_header(part, header)
        if raw is not None and not raw.isascii():
            # Raw 8-bit bytes in a parameter (old mailers): the modern parser would replace them, so
            # the header is decoded as a whole (charset guessed) and the parameter read from that.
            found = re.search(param + r'\s*=\s*(?:"([^"]*)"|([^;\s]+))', decode_words(raw, hint=hint), re.IGNORECASE)
            if found:
                return found.group(1) or found.group(2)
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = part.get_param(param, header=header)
        except Exception:
            continue
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, raw value)
            charset, _, raw = value
            data = str(raw).encode("latin-1", "surrogateescape")
            name = decode_bytes(data, charset or None, hint=hint).text
        else:
            text = str(value).strip('"')
            # Raw 8-bit names come through as surrogate escapes; encoded words in quoted names are common too.
            name = decode_words(text, hint=hint)
        if name:
            break
    return name or None


_EXTENSIONS = {
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "application/ms-tnef": ".dat",
    "text/rfc822-headers": ".txt",
    "message/delivery-status": ".txt",
    "application/pgp-encrypted": ".pgp",
}


def _default_name(ctype: str, stem: str = "attachment") -> str:
    extension = _EXTENSIONS.get(ctype)
    extension = extension or mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return stem + extension


def _content_id(part: Message) -> str | None:
    raw = raw_header(part, "content-id")
    if raw is None:
        return None
    match = _CONTENT_ID.search(str(raw))
    return match.group(1).lower()[:255] if match else None


def text_of(part: Message, *, hint: str | None, collected: Collected) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = str(part.get_payload()).encode("utf-8", "surrogateescape")
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    decoded = decode_bytes(data, declared, hint=hint)
    if decoded.note:
        collected.note("charset", decoded.note)
    return decoded.text.replace("\r\n", "\n").replace("\r", "\n")


class Walker:
    def __init__(self, budget: Budget, collected: Collected, *, hint: str | None, keep_files: bool = True) -> None:
        self.budget = budget
        self.limits = budget.limits
        self.out = collected
        self.hint = hint
        self.keep_files = keep_files

    def visit(self, part: Message, depth: int = 0) -> None:
        if self.budget.exhausted:
            return
        self.budget.parts += 1
        if self.budget.parts > self.limits.max_parts:
            self.budget.exhausted = True
            self.out.note("too_many_parts", f"stopped after {self.limits.max_parts} MIME parts")
            return
        if depth > self.limits.max_depth:
            self.out.note("too_deep", f"parts nested deeper than {self.limits.max_depth} levels were skipped")
            return
        ctype = content_type(part)
        if ctype in FORWARDED_TYPES:
            self._forwarded(part, depth)
        elif ctype.startswith("message/") and part.is_multipart():  # delivery-status and the like
            blocks = part.get_payload()
            text = "\n".join(block.as_string() for block in blocks if isinstance(block, Message))
            self.keep(part, text.encode("utf-8", "surrogateescape"), name=_default_name(ctype, ctype.split("/")[1]))
        elif part.is_multipart():
            self._multipart(part, ctype, depth)
        else:
            self._leaf(part, ctype)

    def _children(self, part: Message) -> list[Message]:
        payload = part.get_payload()
        return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []

    def _multipart(self, part: Message, ctype: str, depth: int) -> None:
        children = self._children(part)
        if ctype == "multipart/alternative":
            self._alternative(children, depth)
        elif ctype == "multipart/signed" and children:
            self.out.note("signed", "the signature is kept as an attachment")
            self.visit(children[0], depth + 1)
            for signature in children[1:]:
                self._keep_part(signature, default_stem="signature")
        elif ctype == "multipart/encrypted":
            self.out.note("encrypted", "the encrypted content is kept as attachments")
            for child in children:
                self._keep_part(child, default_stem="encrypted")
        else:
            for child in children:
                self.visit(child, depth + 1)

    def _alternative(self, children: list[Message], depth: int) -> None:
        """One plain text (the first offered) and one HTML (the last, the richest) of the alternatives."""
        plain: list[str] = []
        html: list[str] = []
        for child in children:
            plain_mark, html_mark = len(self.out.plain), len(self.out.html)
            self.visit(child, depth + 1)
            if not plain:
                plain = self.out.plain[plain_mark:]
            if self.out.html[html_mark:]:
                html = self.out.html[html_mark:]
            del self.out.plain[plain_mark:], self.out.html[html_mark:]
        self.out.plain.extend(plain)
        self.out.html.extend(html)

    def _leaf(self, part: Message, ctype: str) -> None:
        disposition = _disposition(part)
        filename = filename_of(part, hint=self.hint)
        elided = raw_header(part, ELIDED_HEADER.lower())
        if elided is not None:  # removed before parsing: certainly over the size limit
            size = int(elided) if elided.isdigit() else 0
            self._drop_large(filename or _default_name(ctype), ctype, size)
            return
        if ctype in TNEF_TYPES or (filename or "").lower() == "winmail.dat":
            self._tnef(part, filename)
        elif ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            text = text_of(part, hint=self.hint, collected=self.out)
            (self.out.plain if ctype == "text/plain" else self.out.html).append(text)
        else:
            if ctype in SMIME_TYPES:
                smime_type = str(part.get_param("smime-type") or "").lower()
                code = "signed" if smime_type == "signed-data" else "encrypted"
                self.out.note(code, "S/MIME content is kept as an attachment")
            self._keep_part(part, filename=filename, ctype=ctype)

    def _keep_part(
        self, part: Message, *, filename: str | None = None, default_stem: str = "attachment", ctype: str | None = None
    ) -> None:
        ctype = ctype or content_type(part)
        stem = "original-headers" if ctype == "text/rfc822-headers" else default_stem
        name = filename or filename_of(part, hint=self.hint) or _default_name(ctype, stem)
        if not self._room_for(name, ctype, self._estimated_size(part)):
            return
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "surrogateescape")
        self.keep(part, data, name=name, ctype=ctype)

    def _estimated_size(self, part: Message) -> int:
        """The decoded size, estimated before decoding, so a 30 MB file is refused without being decoded."""
        payload = part.get_payload()
        if not isinstance(payload, str):
            return 0
        encoding = (raw_header(part, "content-transfer-encoding") or "").lower()
        return len(payload) * 3 // 4 if encoding == "base64" else len(payload)

    def _room_for(self, name: str, ctype: str, size: int) -> bool:
        if not self.keep_files:
            return False
        if len(self.out.attachments) >= self.limits.max_attachments:
            self.out.dropped.append(DroppedAttachment(safe_filename(name), ctype, size, "too_many"))
            self.out.note("too_many_attachments", f"only the first {self.limits.max_attachments} files were kept")
            return False
        # Base64 estimates may be a few bytes high (line breaks): the exact check follows decoding.
        if size > self.limits.max_attachment_bytes * 1.05 + 4096:
            self._drop_large(name, ctype, size)
            return False
        return True

    def _drop_large(self, name: str, ctype: str, size: int) -> None:
        self.out.dropped.append(DroppedAttachment(safe_filename(name), ctype, size, "too_large"))
        self.out.note("attachment_too_large", f"{safe_filename(name)} ({size} bytes) was over the size limit")

    def keep(self, part: Message | None, data: bytes, *, name: str, ctype: str | None = None) -> None:
        ctype = ctype or (content_type(part) if part is not None else "application/octet-stream")
        if not self._room_for(name, ctype, len(data)):
            return
        if len(data) > self.limits.max_attachment_bytes:
            self._drop_large(name, ctype, len(data))
            return
        disposition = _disposition(part) if part is not None else None
        content_id = _content_id(part) if part is not None else None
        self.out.attachments.append(
            InboundAttachment.build(
                filename=safe_filename(name),
                content_type=ctype[:255],
                data=data,
                content_id=content_id,
                is_inline=content_id is not None and disposition != "attachment",
            )
        )

    def _tnef(self, part: Message, filename: str | None) -> None:
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        content = tnef.extract(data)
        if content is None or not (content.files or content.body_text or content.body_html):
            self.out.note("tnef_unreadable", "winmail.dat could not be unpacked and is kept as a file")
            self.keep(part, data, name=filename or "winmail.dat")
            return
        self.out.note("tnef_unpacked", f"{len(content.files)} files taken out of winmail.dat")
        for name, payload in content.files:
            guessed = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
            self.keep(None, payload, name=name, ctype=guessed)
        if content.body_html and not self.out.html:
            self.out.html.append(content.body_html)
        elif content.body_text and not self.out.plain:
            self.out.plain.append(content.body_text)

    def _forwarded(self, part: Message, depth: int) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], Message) else None
        if inner is None:
            self._keep_part(part, default_stem="forwarded")
            return
        subject = decode_words(raw_header(inner, "subject") or "", hint=self.hint).strip()
        try:
            data = inner.as_bytes()
        except Exception:
            data = inner.as_string().encode("utf-8", "surrogateescape")
        stem = re.sub(r"[^\w\- ]+", "", subject)[:80].strip() or "forwarded"
        self.keep(part, data, name=filename_of(part, hint=self.hint) or f"{stem}.eml", ctype="message/rfc822")
        # The forwarded text is read (within the same budget) for a summary; its files stay in the .eml.
        nested = Collected()
        Walker(self.budget, nested, hint=self.hint, keep_files=False).visit(inner, depth + 1)
        text = "\n\n".join(nested.plain).strip()
        if not text and nested.html:
            text = readable_text(clean_html("\n".join(nested.html))[0])
        snippet = text[:FORWARD_SNIPPET] + ("…" if len(text) > FORWARD_SNIPPET else "")
        sender = decode_words(raw_header(inner, "from") or "", hint=self.hint).strip()
        self.out.forwarded.append(Forwarded(subject, sender, (raw_header(inner, "date") or "").strip(), snippet))
