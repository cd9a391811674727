"""HTML mail: the sanitised body for display and a readable plain text derived from it.

Sanitising is the project's allow-list (``tickets.content.sanitise_html``, nh3): scripts,
styles, forms, frames and event handlers never pass. Tracking pixels (remote images of at most
1×1 pixels) are removed outright: they carry no content, only a read receipt for the sender.
Other remote images stay and are parked at display time (``tickets.content.block_remote_images``).

The plain text comes from inscriptis, which renders the layout (paragraphs, lists, tables as
aligned columns) instead of Markdown: the text is what search, previews, language detection and
quote folding read, and Markdown escapes would only get in their way there.
"""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig

from okno.tickets.content import html_to_text, sanitise_html

_CONFIG = ParserConfig(display_links=False, display_images=False)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_CID = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n{3,}")
_MAX_HTML = 5_000_000  # characters; beyond this only the start is rendered (noted by the caller)


def _is_tracking_pixel(tag: str) -> bool:
    attrs = {name.lower(): value for name, value in _ATTR.findall(tag)}
    if not attrs.get("src", "").lower().startswith(("http://", "https://", "//")):
        return False
    sizes = [attrs.get("width", "").strip().rstrip("px"), attrs.get("height", "").strip().rstrip("px")]
    return any(size in {"0", "1"} for size in sizes)


def drop_tracking_pixels(safe_html: str) -> tuple[str, int]:
    removed = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal removed
        if _is_tracking_pixel(match.group(0)):
            removed += 1
            return ""
        return match.group(0)

    return _IMG.sub(drop, safe_html), removed


def cid_references(html_text: str) -> set[str]:
    """Content-IDs the HTML places in its body (``<img src="cid:...">``), without angle brackets."""
    return {cid.strip("<>").lower() for cid in _CID.findall(html_text)}


def readable_text(html_text: str) -> str:
    try:
        text = get_text(html_text[:_MAX_HTML], _CONFIG)
    except (ValueError, RecursionError):  # lxml refuses some pathological documents
        text = html_to_text(html_text[:_MAX_HTML])
    lines = [line.strip() for line in text.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def clean_html(raw_html: str) -> tuple[str, int]:
    """(sanitised HTML without tracking pixels, how many pixels were removed)."""
    return drop_tracking_pixels(sanitise_html(raw_html[:_MAX_HTML]))
