"""Language detection: hand-made cases, a held-out set of support messages, and two public data sets.

The data sets live in ../shared/data beside the repository (CI always has them there); they are
read in place, never copied. The figures these tests hold the detector to are in
docs/subsystems/email-parsing.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from okno.channels.language import detect_language

ROOT = Path(__file__).resolve().parents[2]
# ../shared/data beside the clone (CI); a worktree one level deeper finds it one level further up.
SHARED_DATA = next(
    (path for path in (ROOT / ".." / "shared" / "data", ROOT / ".." / ".." / "shared" / "data") if path.is_dir()),
    ROOT / ".." / "shared" / "data",
)
HELDOUT = ROOT / "tests" / "data" / "language" / "heldout.tsv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, my order has not arrived yet", "en"),
        ("Здравствуйте, заказ так и не пришёл", "ru"),
        ("Bună ziua, comanda mea nu a ajuns încă", "ro"),
        ("Buna ziua, comanda mea nu a ajuns inca", "ro"),  # Romanian typed without diacritics
        ("Добрий день, моє замовлення ще не прийшло", "uk"),
        ("Hallo, meine Bestellung ist nicht angekommen", "de"),
        ("Не работает login в приложении Okno", "ru"),  # product names in Latin letters do not decide
        ("Спасибо!", None),  # too short to be sure
        ("ok", None),
        ("", None),
        (None, None),
        ("12345 !!! ???", None),
        ("support@okno.test https://okno.test/tickets/1042", None),
        ("Hi! Привет! The login fails, вход не работает", None),  # mixed
        ("Пратката ще пристигне във вторник, благодарим ви за търпението", None),  # Bulgarian: not detected
        ("Дзякуй, усё працуе, заказ атрымаў", None),  # Belarusian (ў): not a language we detect
    ],
)
def test_detect_language(text: str | None, expected: str | None) -> None:
    assert detect_language(text) == expected


def _score(pairs: list[tuple[str | None, str]]) -> Counter[str]:
    outcome: Counter[str] = Counter()
    for expected, text in pairs:
        got = detect_language(text)
        outcome["right" if got == expected else "abstained" if got is None else "wrong"] += 1
    return outcome


def test_held_out_support_messages() -> None:
    rows = [line.split("\t", 1) for line in HELDOUT.read_text().splitlines() if line and not line.startswith("#")]
    pairs = [(None if code == "-" else code, text) for code, text in rows]
    assert len(pairs) >= 70
    outcome = _score(pairs)
    assert outcome["wrong"] == 0, outcome
    assert outcome["right"] / len(pairs) >= 0.95, outcome


def _dataset(relative: str, column: str) -> list[str]:
    path = SHARED_DATA / relative
    # CI always has shared/ beside the clone: a missing file is a broken set-up, not a skip.
    assert path.exists(), f"{path} is missing: the shared data sets must sit beside the repository"
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


@pytest.mark.parametrize(
    ("relative", "language", "min_right", "max_wrong"),
    [
        ("banking77/train.csv", "en", 0.98, 0.002),  # English banking questions, 10,003 rows
        ("hwu64-ru-encodechka/intents_train.csv", "ru", 0.92, 0.002),  # Russian assistant commands, 5,000 rows
    ],
)
def test_public_data_sets(relative: str, language: str, min_right: float, max_wrong: float) -> None:
    texts = _dataset(relative, "text")
    outcome = _score([(language, text) for text in texts])
    assert outcome["right"] / len(texts) >= min_right, outcome
    assert outcome["wrong"] / len(texts) <= max_wrong, outcome
