"""The language a customer wrote in, or None when the text does not say clearly enough.

py3langid (a maintained fork of langid.py; its naive Bayes model ships inside the package,
4.5 MB, nothing is downloaded at run time) restricted to the languages a support desk here
meets. The script decides the candidates first (Cyrillic text is Russian or Ukrainian, Latin
text one of the Latin-script languages), which removes the cross-script confusions; the
model's normalised probability must then clear a threshold. Short text, text mixing scripts
in similar shares, and text with no letters get None: routing by a wrong language is worse
than routing by none. Accuracy figures: tests/channels/test_language.py and the report in
docs/subsystems/email-parsing.md.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

SUPPORTED = ("en", "ru", "ro", "uk", "de", "fr", "es", "it", "pt", "pl", "tr", "nl")
_CYRILLIC_LANGUAGES: tuple[str, ...] = ("ru", "uk")
_LATIN_LANGUAGES = tuple(code for code in SUPPORTED if code not in _CYRILLIC_LANGUAGES)
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.80
MIXED_SHARE = 0.40  # both scripts at least this share of the letters: mixed, no answer

_NOISE = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+|\d+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile(r"[ыэёЫЭЁ]")
# Letters of Cyrillic languages this desk does not detect (Belarusian, Serbian, Macedonian, Kazakh).
_OTHER_CYRILLIC = re.compile(r"[ўђјљњћџѓќѕәғқңөұүһЎЂЈЉЊЋЏЃЌЅӘҒҚҢӨҰҮҺ]")
_HARD_SIGN = re.compile(r"[ъЪ]")
_ROMANIAN_ONLY = re.compile(r"[șțȘȚşţŞŢ]")
_lock = threading.Lock()


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # loaded on first use: 1–2 s, once

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED))
    return identifier


def _rank(text: str, candidates: tuple[str, ...]) -> list[tuple[str, float]]:
    with _lock:  # the identifier keeps no per-call state, but its first load must happen once
        ranked: list[tuple[str, float]] = _identifier().rank(text)
    kept = [(code, score) for code, score in ranked if code in candidates]
    total = sum(score for _, score in kept) or 1.0
    return [(code, score / total) for code, score in kept]


def _cyrillic_by_letters(text: str) -> str | None:
    """Russian or Ukrainian from the letters only one of them has; "model" when both or neither say.

    The character n-gram model confuses short Russian and Ukrainian sentences (about one in
    five short Russian commands came out Ukrainian at low confidence), while the alphabets
    differ: і, ї, є, ґ are Ukrainian only, ы, э, ё Russian only, and a Ukrainian sentence of a
    dozen letters almost always has an і. A heavy use of ъ without ы or э is Bulgarian: unsure.
    """
    if _OTHER_CYRILLIC.search(text):
        return None
    ukrainian, russian = bool(_UKRAINIAN_ONLY.search(text)), bool(_RUSSIAN_ONLY.search(text))
    if ukrainian and not russian:
        return "uk"
    if russian and not ukrainian:
        return "ru"
    if not ukrainian and not russian:
        letters = len(_CYRILLIC.findall(text))
        return None if len(_HARD_SIGN.findall(text)) / max(1, letters) > 0.015 else "ru"
    return "model"


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code of the text's language, or None when short, mixed or unsure."""
    if not text:
        return None
    cleaned = _NOISE.sub(" ", text[:5000])
    cyrillic = len(_CYRILLIC.findall(cleaned))
    latin = len(_LATIN.findall(cleaned))
    letters = cyrillic + latin
    if letters < MIN_LETTERS:
        return None
    if min(cyrillic, latin) / letters >= MIXED_SHARE:
        return None
    # The model reads only the dominant script: a product name in Latin letters inside Russian
    # text says nothing about the language and would only pull the scores apart.
    dominant = _LATIN if cyrillic > latin else _CYRILLIC
    cleaned = re.sub(r"\w*" + dominant.pattern + r"\w*", " ", cleaned)
    if cyrillic > latin:
        decided = _cyrillic_by_letters(cleaned)
        if decided != "model":
            return decided
        candidates = _CYRILLIC_LANGUAGES
    else:
        candidates = _LATIN_LANGUAGES
    ranked = _rank(cleaned, candidates)
    if not ranked:
        return None
    code, confidence = ranked[0]
    if code != "ro" and _ROMANIAN_ONLY.search(cleaned):
        return None  # Romanian letters in text the model calls something else: unsure
    return code if confidence >= MIN_CONFIDENCE else None
