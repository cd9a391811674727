"""Limits applied to the raw bytes before parsing, where parsing itself would be the cost.

The standard library's parser reads every line of every part (about a second per 3 MB) and
builds header objects for every part, so a MIME bomb or a 30 MB video would cost seconds
before any limit in the MIME walk could say no. Two cheap byte-level passes come first:

* ``elide_oversized``: a part whose encoded body is certainly over the attachment limit loses
  its body here and gets an ``X-Okno-Elided-Size`` header; the walk records it as dropped.
  Quoted-printable and uuencoded bodies are left alone (their decoded size is not knowable
  from their length), and so are parts near the limit: the exact check follows decoding.
* ``bound_parts``: the mail is cut before the part header that would exceed the part budget or
  the nesting budget; the cut mail parses like one whose end was lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

ELIDED_HEADER = "X-Okno-Elided-Size"
_BOUNDARY_VALUE = re.compile(rb'\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_CONTAINER = re.compile(rb"[ \t]*:[ \t]*(multipart|message)/")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_ENCODING = re.compile(rb"(?im)^content-transfer-encoding[ \t]*:[ \t]*([\w-]+)")
_HEADER_WINDOW = 64 * 1024

# Plain bytes.find loops, not regular expressions over the whole mail: on a 40 MB message a
# multi-line regex scan costs about a second, a find a few milliseconds.


def _finds(haystack: bytes, needle: bytes, start: int = 0, end: int | None = None) -> Iterator[int]:
    end = len(haystack) if end is None else end
    position = haystack.find(needle, start, end)
    while position >= 0:
        yield position
        position = haystack.find(needle, position + 1, end)


def _boundaries(lowered: bytes, raw: bytes) -> set[bytes]:
    found = set()
    for position in _finds(lowered, b"boundary"):
        match = _BOUNDARY_VALUE.match(raw, position + len(b"boundary"))
        if match:
            found.add(match.group(1) or match.group(2))
    return found


def _segments(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of every stretch between boundary delimiter lines (the whole mail if none)."""
    cuts = [0]
    for boundary in _boundaries(raw.lower(), raw):
        delimiter = b"\n--" + boundary
        for position in _finds(raw, delimiter):
            line_end = raw.find(b"\n", position + len(delimiter))
            line_end = len(raw) if line_end < 0 else line_end + 1
            if raw[position + len(delimiter) : line_end].strip(b" \t\r\n-") == b"":
                cuts += [position + 1, line_end]
    cuts.append(len(raw))
    cuts.sort()
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]


def elide_oversized(raw: bytes, max_attachment_bytes: int) -> tuple[bytes, int]:
    """(raw with the bodies of certainly-too-large parts removed, how many were removed)."""
    base64_limit = int(max_attachment_bytes * 1.4) + 4096  # base64 decodes to about 0.73 of its length
    identity_limit = int(max_attachment_bytes * 1.05) + 4096
    if len(raw) <= identity_limit:
        return raw, 0
    pieces: list[bytes] = []
    position = elided = 0
    for start, end in _segments(raw):
        if end - start <= identity_limit:
            continue
        header_end = _HEADER_END.search(raw, start, min(end, start + _HEADER_WINDOW))
        if header_end is None:
            continue
        headers = raw[start : header_end.start()]
        encoding_match = _ENCODING.search(headers)
        encoding = (encoding_match.group(1).lower() if encoding_match else b"7bit").decode("ascii", "replace")
        body_size = end - header_end.end()
        limit = base64_limit if encoding == "base64" else identity_limit
        if encoding not in {"base64", "7bit", "8bit", "binary"} or body_size <= limit:
            continue
        estimated = body_size * 3 // 4 if encoding == "base64" else body_size
        newline = b"\r\n" if headers.find(b"\r\n") >= 0 else b"\n"
        pieces += [raw[position : header_end.start()], newline, f"{ELIDED_HEADER}: {estimated}".encode(), newline]
        pieces.append(newline)
        position = end
        elided += 1
    if not elided:
        return raw, 0
    pieces.append(raw[position:])
    return b"".join(pieces), elided


def bound_parts(raw: bytes, *, max_parts: int, max_containers: int, note: Callable[[str, str], None]) -> bytes:
    lowered = raw.lower()
    parts = containers = 0
    for position in _finds(lowered, b"\ncontent-type"):
        start = position + len(b"\ncontent-type")
        if lowered[start : start + 16].lstrip(b" \t")[:1] != b":":
            continue
        parts += 1
        containers += 1 if _CONTAINER.match(lowered, start) else 0
        if parts > max_parts:
            note("too_many_parts", f"only the first {max_parts} MIME parts were read")
            return raw[: position + 1]
        if containers > max_containers:
            note("too_deep", f"only the first {max_containers} nested containers were read")
            return raw[: position + 1]
    return raw
