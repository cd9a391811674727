"""The text pieces of the email parser, table-driven: charsets, encoded words, quoted history."""

from __future__ import annotations

import pytest

from okno.channels.email.charsets import codec_for, decode_bytes, decode_words
from okno.channels.email.classify import is_system_address
from okno.channels.email.html_text import cid_references, clean_html, readable_text
from okno.channels.email.quoting import split_quoted

RU = "Подскажите, как изменить адрес доставки в уже оформленном заказе?"
FR = "Bonjour, je n'arrive pas à me connecter à mon compte, merci, Hélène"


@pytest.mark.parametrize(
    ("text", "encoding", "declared", "charset"),
    [
        (RU, "utf-8", None, "utf_8"),
        (RU, "utf-8", "windows-1251", "utf_8"),  # valid UTF-8 wins over a legacy declaration
        (RU, "cp1251", "windows-1251", "cp1251"),
        (RU, "cp1251", None, "cp1251"),
        (RU, "cp1251", "iso-8859-1", "cp1251"),  # a lying declaration
        (RU, "cp1251", "koi8-r", "cp1251"),
        (RU, "koi8_r", "koi8-r", "koi8_r"),
        (RU, "koi8_r", "windows-1251", "koi8_r"),
        (RU, "koi8_r", "us-ascii", "koi8_r"),
        (RU, "koi8_r", "utf-8", "koi8_r"),
        (RU, "iso-8859-5", "iso-8859-5", "iso8859_5"),
        ("СРОЧНО: заказ", "koi8_r", None, "koi8_r"),
        ("Счёт №123", "cp1251", None, "cp1251"),
        (FR, "cp1252", "iso-8859-1", "iso8859_1"),  # a true Latin-1 declaration is kept
        (FR, "cp1252", None, "cp1252"),
        (FR, "cp1252", "koi8-r", "cp1252"),
        ("Bună ziua, mulțumesc", "iso-8859-16", "iso-8859-16", "iso8859_16"),
        ("日本語のメール", "shift_jis", "shift_jis", "shift_jis"),
    ],
)
def test_decode_bytes(text: str, encoding: str, declared: str | None, charset: str) -> None:
    decoded = decode_bytes(text.encode(encoding), declared)
    assert (decoded.text, decoded.charset) == (text, charset)


def test_decode_bytes_notes_what_it_had_to_guess() -> None:
    assert decode_bytes(RU.encode("cp1251"), "windows-1251").note is None
    assert decode_bytes(RU.encode("cp1251"), "iso-8859-1").note == "declared iso-8859-1 but the text was cp1251"
    assert decode_bytes(b"plain", "x-bogus").note == "unknown charset 'x-bogus'"
    assert decode_bytes(b"", None).text == ""


@pytest.mark.parametrize(
    ("label", "codec"),
    [("UTF-8", "utf_8"), ("win-1251", "cp1251"), ("x-cp1251", "cp1251"), ("KOI8-R", "koi8_r"),
     ("utf-8*ru", "utf_8"), ("gb2312", "gb18030"), ("x-unknown", None), ("", None), (None, None), ("nonsense", None)],
)  # fmt: skip
def test_codec_for(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?UTF-8?B?0J/RgNC40LLQtdGC?=", "Привет"),
        ("=?koi8-r?Q?=F0=D2=C9=D7=C5=D4?= world", "Привет world"),
        ("=?UTF-8?B?0J/RgNC4?= =?UTF-8?B?0LLQtdGC?=", "Привет"),  # whitespace between words is dropped
        ("=?UTF-8?B?0J/R?= =?UTF-8?B?gNC40LLQtdGC?=", "Привет"),  # a character split across words
        ("=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"),
        ("=?iso-8859-1?Q?caf=E9?=", "café"),
        ("=?windows-1251?B?0e/g8ejh7iE=?=", "Спасибо!"),
        ("=?unknown-cs?Q?abc?=", "abc"),
        ("=?utf-8?B?###?= tail", "=?utf-8?B?###?= tail"),  # not base64: kept as written
        ("no encoding here", "no encoding here"),
        ("Привет".encode("cp1251").decode("ascii", "surrogateescape"), "Привет"),  # raw 8-bit header
    ],
)
def test_decode_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected


@pytest.mark.parametrize(
    ("text", "new", "quoted_start"),
    [
        ("Thanks!\n\nOn Mon, 16 Nov 2026 at 10:00, Support <s@x.test> wrote:\n> old", "Thanks!", "On Mon"),
        ("Спасибо!\n\n16.11.2026 10:00, Поддержка пишет:\n> старое", "Спасибо!", "16.11.2026"),
        ("Спасибо!\n\nВ пн, 16 нояб. 2026 г. в 10:00 Иван написал(а):\n> старое", "Спасибо!", "В пн"),
        ("Спасибо!\n\nпн, 16 нояб. 2026 г. в 10:00, Иван <ivan@x.ru>:\n\n> старое", "Спасибо!", "пн, 16"),
        ("Ok\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold", "Ok", "-----Original"),
        ("Ок\n\n-----Исходное сообщение-----\nОт: а\n\nстарое", "Ок", "-----Исходное"),
        ("Ok\n\nFrom: A <a@x>\nSent: Monday\nTo: B\nSubject: S\n\nold", "Ok", "From: A"),
        ("Ок\n\nОт: А <a@x>\nОтправлено: пн\nКому: Б\nТема: Т\n\nстарое", "Ок", "От: А"),
        ("Ok\n\n________________________________\nFrom: A\nSent: B\nTo: C\n\nold", "Ok", "_____"),
        ("Mulțumesc\n\nÎn lun., 16 nov. 2026, Suport <s@x.ro> a scris:\n> vechi", "Mulțumesc", "În lun."),
        ("Ok\n> trailing quote\n> more", "Ok", "> trailing"),
        ("> q1\nanswer 1\n> q2\nanswer 2", "> q1\nanswer 1\n> q2\nanswer 2", None),  # interleaved: not folded
        ("> only a quote", "> only a quote", None),  # nothing new: not folded
        ("---------- Forwarded message ---------\nFrom: A\nDate: B\nSubject: C\nTo: D\n\nbody", None, None),
        ("A line that mentions From: someone\nand goes on.", None, None),
        ("Plain message without history.", "Plain message without history.", None),
    ],
)
def test_split_quoted(text: str, new: str | None, quoted_start: str | None) -> None:
    split = split_quoted(text)
    assert split.new_text == (new if new is not None else text.strip())
    if quoted_start is None:
        assert split.quoted_text == ""
    else:
        assert split.quoted_text.startswith(quoted_start)
        assert text.strip().endswith(split.quoted_text.splitlines()[-1])


@pytest.mark.parametrize(
    ("address", "system"),
    [("MAILER-DAEMON@x.org", True), ("postmaster@x.org", True), ("no-reply@x.org", True), ("noreply@x.org", True),
     ("do_not_reply@x.org", True), ("donotreply@x.org", True), ("bounces+abc=x.org@mail.example", True),
     ("jane@x.org", False), ("support@x.org", False), ("replyto@x.org", False), ("nora@x.org", False)],
)  # fmt: skip
def test_system_addresses(address: str, system: bool) -> None:
    assert is_system_address(address) is system


def test_html_is_sanitised_pixels_dropped_and_text_readable() -> None:
    safe, pixels = clean_html(
        '<p onclick="x()">Hi <script>alert(1)</script><img src="https://t.example/o.gif" width="1" height="1">'
        '<img src="cid:Logo@X" alt="logo"><img src="https://cdn.example/a.png" width="100"></p><ul><li>one</li></ul>'
    )
    assert pixels == 1
    assert "onclick" not in safe and "script" not in safe and "t.example" not in safe
    assert 'src="cid:Logo@X"' in safe and "cdn.example/a.png" in safe
    assert cid_references(safe) == {"logo@x"}
    assert readable_text(safe) == "Hi\n\n* one"
