"""Quoted history in a reply: what the sender wrote now, and what they quoted.

The split only folds the display; the full text is always kept. It looks for the first line
that starts the history, in the forms common mail clients write in English and Russian (and a
few other languages): an attribution ("On … wrote:", "… пишет:", Gmail's Russian
"пн, 3 янв. 2022 г. в 10:00, Иван <ivan@example.ru>:" followed by "> " lines), a separator
("-----Original Message-----", "-----Исходное сообщение-----"), an Outlook header block
("From: … Sent: … To: … Subject: …", "От: … Отправлено: …"), or a trailing run of "> " lines.
Interleaved replies (new text between quoted lines) are not folded: hiding new words is worse
than showing old ones. A message that would be all history (a forward) is not folded either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = re.compile(
    r"(wrote|writes|пишет|написал|написала|написал\(а\)|a scris|schrieb|a écrit|escribió|ha scritto)\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|mesajul original|mesaj original|ursprüngliche nachricht"
    r"|message d'origine|mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{20,}\s*$")  # Outlook's line above its header block
_HEADER_FROM = re.compile(r"^\s*\*?(from|от|de la|de|von)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|cc|subject|отправлено|дата|кому|копия|тема|trimis|către|subiect|gesendet|an|betreff"
    r"|envoyé|à|objet)\s*:",
    re.IGNORECASE,
)
_ADDRESS_COLON = re.compile(r"<[^<>\s@]+@[^<>\s]+>\s*:\s*$|[\w.+-]+@[\w-]+(\.[\w-]+)+\s*:\s*$")
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|пересылаемое сообщение|переадресованное сообщение|mesaj redirecționat)"
    r"\s*-*|begin forwarded message:|начало переадресованного сообщения:)\s*$",
    re.IGNORECASE,
)
_MAX_ATTRIBUTION = 300


@dataclass(frozen=True)
class QuoteSplit:
    new_text: str
    quoted_text: str


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_content(lines: list[str], start: int) -> int | None:
    for index in range(start, min(len(lines), start + 3)):
        if lines[index].strip():
            return index
    return None


def _outlook_block(lines: list[str], index: int) -> bool:
    """A "From:" line followed by at least two header lines ("Sent:", "To:", "Subject:" …)."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 7] if line.strip()][:5]
    return sum(1 for line in following if _HEADER_NEXT.match(line)) >= 2


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    stripped = line.strip()
    if not stripped or len(stripped) > _MAX_ATTRIBUTION:
        return False
    if _SEPARATOR.match(line) or _outlook_block(lines, index):
        return True
    if _RULE.match(line):
        following = _next_content(lines, index + 1)
        return following is not None and _outlook_block(lines, following)
    if _ATTRIBUTION.search(stripped) and not _is_quote(line):
        return True
    # An attribution wrapped over two lines: "On Mon, 3 Jan 2022 at 10:00, John <" / "john@example.com> wrote:"
    if index + 1 < len(lines) and not _is_quote(line) and _ATTRIBUTION.search(lines[index + 1].strip()):
        second = lines[index + 1].strip()
        if len(stripped) + len(second) <= _MAX_ATTRIBUTION and not _is_quote(lines[index + 1]):
            return bool(re.match(r"(on|в|le|am|el|pe|în|il)\b", stripped, re.IGNORECASE) or stripped.endswith("<"))
    # Gmail in Russian and others: "пн, 3 янв. 2022 г. в 10:00, Иван <ivan@example.ru>:" then "> " lines.
    if _ADDRESS_COLON.search(stripped) and not _is_quote(line):
        following = _next_content(lines, index + 1)
        return following is not None and _is_quote(lines[following])
    return False


def _trailing_quote_start(lines: list[str]) -> int | None:
    """The first line of a run of "> " lines that only blank lines follow."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if not line.strip():
            continue
        if _is_quote(line):
            start = index
        else:
            break
    return start


def split_quoted(text: str) -> QuoteSplit:
    lines = text.splitlines()
    cut = next((index for index in range(len(lines)) if _starts_history(lines, index)), None)
    if cut is None:
        cut = _trailing_quote_start(lines)
    if cut is None:
        return QuoteSplit(text.strip(), "")
    new_text = "\n".join(lines[:cut]).strip()
    # Nothing new, or only a forward marker: this is a forward, and the agent must read all of it.
    if not new_text or _FORWARD_MARKER.match(new_text.splitlines()[-1]):
        return QuoteSplit(text.strip(), "")
    return QuoteSplit(new_text, "\n".join(lines[cut:]).strip())
