"""Message bodies: plain text and HTML sanitised with an allow-list (nh3, the ammonia bindings).

Nothing from outside is stored for display before it passes here. ``hx-*``, ``data-*``,
``style`` and event-handler attributes never pass, nor do scripts, forms or frames.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
_BLOCK_BREAK = re.compile(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*/?>")
_BLANK_RUNS = re.compile(r"\n{3,}")


def sanitise_html(raw: str) -> str:
    return str(
        nh3.clean(
            raw,
            tags=set(ALLOWED_TAGS),
            attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


# Markdown-lite for what agents write: emphasis, lists, links, inline and fenced code, line breaks.
# Raw HTML in the text stays text (html=False); headings, tables and images are not enabled.
_markdown = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": False}).enable(
    ["emphasis", "list", "link", "autolink", "backticks", "fence", "newline", "escape"]
)


def markdown_to_html(text: str) -> str:
    """The agent's plain-text source rendered, then sanitised like any other HTML."""
    return sanitise_html(_markdown.render(text.strip()))


def html_to_text(raw: str) -> str:
    with_breaks = _BLOCK_BREAK.sub("\n", raw)
    text = html.unescape(nh3.clean(with_breaks, tags=set()))
    return _BLANK_RUNS.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def bodies(text: str | None, raw_html: str | None, *, markdown: bool = False) -> tuple[str, str]:
    """(plain text, safe HTML) from whichever the sender gave; at least one must be non-empty.

    With ``markdown`` the plain text is the source and is rendered as Markdown-lite.
    """
    if raw_html:
        safe = sanitise_html(raw_html)
        return (text or html_to_text(safe)), safe
    text = text or ""
    return text, markdown_to_html(text) if markdown else text_to_html(text)


_REMOTE_IMAGE = re.compile(r'<img([^>]*?) src="(https?://[^"]*)"', re.IGNORECASE)


def block_remote_images(safe_html: str) -> tuple[str, int]:
    """Sanitised HTML with remote images parked until the reader asks for them.

    A remote image tells its sender when, and from where, the message was read (tracking
    pixels). The address moves to ``data-remote-src``; the page loads it on request.
    """
    blocked = 0

    def park(match: re.Match[str]) -> str:
        nonlocal blocked
        blocked += 1
        return f'<img{match.group(1)} data-remote-src="{match.group(2)}"'

    return _REMOTE_IMAGE.sub(park, safe_html), blocked
