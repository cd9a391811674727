"""Text from bytes whatever the sender declared: charsets, RFC 2047 encoded words, raw 8-bit headers.

Mail lies about its charset often enough that a declaration is a hint, not a fact. The order:
bytes that are valid UTF-8 are UTF-8 (accidental validity is vanishingly rare for real text);
a multi-byte declared charset that decodes strictly is believed; otherwise the declared
single-byte charset competes with the usual suspects (windows-1251, KOI8-R, windows-1252 and
charset-normalizer's guess) on how plausible the decoded text looks, and keeps its place
unless another is clearly better. Nothing here raises: the last resort decodes with
replacement characters and says so.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
from dataclasses import dataclass
from email import quoprimime

from charset_normalizer import from_bytes

_ALIASES = {
    "win-1251": "cp1251",
    "win1251": "cp1251",
    "x-cp1251": "cp1251",
    "cp-1251": "cp1251",
    "windows1251": "cp1251",
    "x-koi8-r": "koi8_r",
    "koi8": "koi8_r",
    "iso-8859-8-i": "iso8859_8",
    "x-mac-cyrillic": "mac_cyrillic",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "unicode-1-1-utf-7": "utf_7",
    "utf8mb4": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "none": "",
}
# Decoders that accept any byte sequence: a clean decode proves nothing about them.
_ANYTHING_GOES = {
    "iso8859_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_9", "iso8859_10", "iso8859_13",
    "iso8859_14", "iso8859_15", "iso8859_16", "cp1250", "cp1251", "cp1252", "cp1254", "cp1257", "koi8_r",
    "koi8_u", "mac_cyrillic", "cp866", "ascii",
}  # fmt: skip
_SUSPECTS = ("cp1251", "koi8_r", "cp1252")
_MAIL_CHARSETS = _ANYTHING_GOES | {
    "cp1253", "cp1255", "cp1256", "cp1258", "iso8859_6", "iso8859_7", "iso8859_8", "gb18030", "big5",
    "shift_jis", "euc_jp", "iso2022_jp", "euc_kr", "cp949", "cp874", "tis_620",
}  # fmt: skip
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Box drawing and odd Latin-1 symbols inside text: single-byte Cyrillic read through the wrong table.
_JUNK = re.compile(
    r"[\u2500-\u259f\u00a1\u00a4\u00a6\u00a8\u00aa\u00ac\u00af\u00b1-\u00b4\u00b6-\u00ba\u00bc-\u00bf\u00d7\u00f7]"
)
# Halfwidth katakana and CJK ideographs: what Cyrillic bytes look like through an East Asian decoder.
_EXOTIC = re.compile(r"[\uff61-\uff9f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"\w+")
_CASE_BROKEN = re.compile(r"[а-яёіїєґ][А-ЯЁІЇЄҐ]{2,}")  # "оПХБЕР": a capitalised word through the wrong table
_SAMPLE = 20_000
# Letter frequencies of Russian (per cent; Ukrainian letters added): KOI8-R read as windows-1251
# and the reverse map common letters onto rare ones, which shows in the mean surprise per letter.
_CYRILLIC_FREQUENCY = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73, "в": 4.54,
    "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74,
    "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64,
    "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.2, "і": 5.0, "ї": 0.6, "є": 0.8, "ґ": 0.1,
}  # fmt: skip
_CYRILLIC_BITS = {letter: -math.log2(share / 100) for letter, share in _CYRILLIC_FREQUENCY.items()}
_RARE_BITS = -math.log2(0.0005)
_TYPICAL_BITS = 4.6  # Russian prose averages about 4.4 bits per letter


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec actually used
    note: str | None = None  # set when the declaration was wrong, missing or unusable


def codec_for(declared: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None when it is unknown or empty."""
    if not declared:
        return None
    label = declared.strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231 language suffix
    label = _ALIASES.get(label, label)
    if not label:
        return None
    try:
        return codecs.lookup(label).name.replace("-", "_").replace("iso_8859_", "iso8859_")
    except LookupError:
        return None


def _implausibility(text: str) -> float:
    """How much decoded text looks like mojibake; 0 is clean. Judged on a sample."""
    sample = text[:_SAMPLE]
    controls = sum(1 for ch in sample if (ch < " " and ch not in "\t\r\n\f") or "\x7f" <= ch < "\xa0" or ch == "\ufffd")
    words = _WORD.findall(sample)
    mixed = sum(1 for w in words if (_CYRILLIC.search(w) and _LATIN.search(w)) or _CASE_BROKEN.search(w))
    # Letters of the words that have any non-ASCII Latin letter: plain ASCII words say nothing either way.
    latin = [ch for w in words if not w.isascii() for ch in w if _LATIN.match(ch)]
    accented = sum(1 for ch in latin if ch > "\x7f")
    cyrillic = [ch for ch in sample if _CYRILLIC.match(ch)]
    junk = len(_JUNK.findall(sample))
    exotic = len(_EXOTIC.findall(sample))
    score = (5 * (controls + junk) + 3 * mixed) / max(1, len(words)) + 2 * exotic / max(1, len(sample.strip()))
    # No Latin-script language writes most of its letters with diacritics: Cyrillic read as Latin-1 does.
    if len(latin) >= 3 and accented / len(latin) > 0.6:
        score += 1 + accented / len(latin)
    if len(cyrillic) >= 4:
        bits = sum(_CYRILLIC_BITS.get(ch.lower(), _RARE_BITS) for ch in cyrillic) / len(cyrillic)
        score += max(0.0, bits - _TYPICAL_BITS)
    return score


def _detected(data: bytes) -> str | None:
    """charset-normalizer's guess, when there is enough text for one and it names a mail charset."""
    if len(data) < 32:
        return None
    best = from_bytes(data[:_SAMPLE]).best()
    codec = codec_for(best.encoding) if best is not None else None
    return codec if codec in _MAIL_CHARSETS else None


def decode_bytes(data: bytes, declared: str | None = None, *, hint: str | None = None) -> Decoded:
    """Text from bytes: the declared charset, UTF-8, then detection; never raises."""
    codec = codec_for(declared)
    note = None if codec or not declared else f"unknown charset {declared!r}"
    if codec and codec not in _ANYTHING_GOES and codec != "utf_8":
        try:  # UTF-16, Shift_JIS, GB18030...: a strict decode is real evidence
            return Decoded(data.decode(codec), codec, note)
        except (UnicodeDecodeError, LookupError):
            note = f"text was not valid {declared}"
    if data.isascii():
        return Decoded(data.decode("ascii"), codec or "ascii", note)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if codec not in (None, "utf_8", "ascii"):
            note = f"declared {declared} but the text was UTF-8"
        return Decoded(text, "utf_8", note)
    if codec == "utf_8":
        note = "declared UTF-8 but the text was not"
    candidates = [c for c in (codec, codec_for(hint), *_SUSPECTS, _detected(data)) if c and c != "utf_8"]
    candidates = list(dict.fromkeys(candidates))
    scored: list[tuple[float, int, str, str]] = []
    for order, candidate in enumerate(candidates):
        try:
            text = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        # The declaration keeps its place unless another reading is clearly better.
        bonus = 0.3 if candidate == (codec or codec_for(hint)) else 0.0
        scored.append((_implausibility(text) - bonus, order, candidate, text))
    if scored:
        _, _, chosen, text = min(scored)
        if chosen != codec:
            note = note or (f"declared {declared} but the text was {chosen}" if codec else f"charset guessed: {chosen}")
        return Decoded(text, chosen, note)
    return Decoded(data.decode("utf-8", "replace"), "utf_8", "undecodable bytes replaced")


def raw_header_bytes(value: str) -> bytes | None:
    """The original bytes of a header the parser read with surrogate escapes, if it had 8-bit bytes."""
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return None
    return None if raw.isascii() else raw


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"\?=\s+=\?")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    if encoding in "bB":
        if re.search(r"[^A-Za-z0-9+/=\s]", payload):
            return None  # not base64 at all: the word is kept as written
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        try:
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            return None
    return quoprimime.header_decode(payload).encode("latin-1", "replace")


def decode_words(value: str, *, hint: str | None = None) -> str:
    """A header value with RFC 2047 encoded words (and raw 8-bit bytes) as text.

    Whitespace between adjacent encoded words is dropped (RFC 2047 §6.2), and adjacent words in
    the same charset are joined before decoding, because broken mailers split multi-byte
    characters across words.
    """
    raw = raw_header_bytes(value)
    if raw is not None:
        value = decode_bytes(raw, None, hint=hint).text
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub("?==?", value)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset, hint=hint).text)
        pending, pending_charset = [], None

    for match in _ENCODED_WORD.finditer(value):
        if match.start() > position:
            flush()
            out.append(value[position : match.start()])
        charset, encoding, payload = match.groups()
        data = _word_bytes(encoding, payload)
        if data is None:
            flush()
            out.append(match.group(0))
        else:
            if pending and charset.lower() != (pending_charset or "").lower():
                flush()
            pending.append(data)
            pending_charset = charset
        position = match.end()
    flush()
    out.append(value[position:])
    return "".join(out)
