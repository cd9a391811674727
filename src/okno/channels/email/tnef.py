"""winmail.dat (TNEF, Outlook's own wrapping): the files inside, or the file itself when it cannot be read."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tnefparse import TNEF

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TnefContent:
    files: tuple[tuple[str, bytes], ...]
    body_text: str | None
    body_html: str | None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00") or None
    if isinstance(value, str):
        return value.strip("\x00") or None
    return None


def extract(data: bytes) -> TnefContent | None:
    """The attachments and body inside a TNEF blob; None when it is not one or is damaged."""
    try:
        tnef = TNEF(data, do_checksum=False)
        files = []
        for attachment in tnef.attachments:
            name = attachment.long_filename() or attachment.name or "attachment"
            payload = attachment.data if isinstance(attachment.data, bytes) else b""
            files.append((str(name).strip("\x00"), payload))
        return TnefContent(tuple(files), _text(tnef.body), _text(tnef.htmlbody))
    except Exception:  # a damaged blob of any kind is kept as a file instead
        log.info("unreadable TNEF attachment kept as a file", exc_info=True)
        return None
