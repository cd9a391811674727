"""The email parser against the hand-made corpus (tests/data/mail): one row per tricky mail.

Each row states what a help desk must get out of that mail: subject, sender, the new text (and
the folded history), attachments, which files show inline, the loop and bounce flags, the notes
the parser leaves, and the language. A field left as None is not checked for that row.
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from okno.channels.base import InboundAttachment
from okno.channels.email.parse import ParsedEmail, parse_email

CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"
RECEIVED_AT = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
FLAGS = ("auto_submitted", "is_bulk", "is_bounce", "suppress_auto_reply", "sender_is_system")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Expect:
    subject: str | None = None
    sender: str | None = None
    name: str | None = None
    text: str | None = None  # must be in new_text
    quoted: str | None = None  # must be in quoted_text ("" means nothing folded)
    attachments: tuple[str, ...] | None = ()  # file names in order; None: not checked
    inline: tuple[str, ...] = ()  # files shown in place (inline and a verified raster image)
    flags: frozenset[str] = frozenset()  # exactly these loop/noise flags are set
    notes: frozenset[str] = frozenset()  # at least these note codes
    language: str | bool | None = False  # False: not checked
    html_has: tuple[str, ...] = ()
    html_lacks: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)  # InboundMessage attribute -> value


AUTO = frozenset({"auto_submitted"})
BOUNCE = frozenset({"auto_submitted", "is_bounce", "sender_is_system"})
CHARSET = frozenset({"charset"})
CASES: dict[str, Expect] = {
    "01_plain_en": Expect("Order not arrived", "jane.doe@example.com", "Jane Doe", "tracking page shows nothing",
                          quoted="", language="en", extra={"external_id": "<en1@example.com>"}),
    "02_plain_ru_utf8": Expect("Не могу войти", "ivan@example.ru", "Иван Петров", "«неверный пароль»", language="ru"),
    "03_koi8r_encoded": Expect("Ошибка при оплате заказа", "maria@example.ru", "Мария Смирнова",
                               "карта списала деньги дважды", language="ru"),
    "04_cp1251_encoded": Expect("Счёт на оплату не пришёл", "oleg@example.ru", "Олег Кузнецов",
                                "счёт на оплату так и не пришёл", language="ru"),
    "05_koi8r_raw_headers": Expect("Возврат товара", "anna@example.ru", "Анна Иванова", "повреждённой упаковкой",
                                   language="ru"),
    "06_cp1251_raw_no_charset": Expect("Не приходит письмо с подтверждением", "petr@example.ru", "Пётр Сидоров",
                                       "Регистрируюсь уже третий раз", notes=CHARSET, language="ru"),
    "07_cp1251_declared_latin1": Expect("Lying charset", text="приложение закрывается", notes=CHARSET),
    "08_koi8_declared_cp1251": Expect("Wrong table", text="изменить адрес доставки", notes=CHARSET),
    "09_utf8_declared_cp1251": Expect("Really UTF-8", text="проблема с доступом решилась", notes=CHARSET),
    "10_missing_charset_utf8": Expect("Café order", text="café voucher (10 €)", language="en"),
    "11_unknown_charset_label": Expect("Odd label", text="Grüße aus München", notes=CHARSET),
    "12_iso8859_16_romanian": Expect("Comanda nu a ajuns", "stefan@example.ro", "Ștefan Popescu", "Mulțumesc frumos",
                                     language="ro"),
    "13_iso8859_5_russian": Expect("Старый клиент", text="буквы дойдут правильно", language="ru"),
    "14_qp_romanian": Expect("Întrebare despre factură", text="urmăresc coletul", language="ro",
                             html_has=("<p>Bună ziua",)),
    "15_encoded_word_split_multibyte": Expect("Проблема с доставкой", text="Текст письма о доставке."),
    # RFC 2047 §6.2: the space between two encoded words is not part of the text.
    "16_encoded_words_mixed": Expect("Re: Заказ№ 123 - urgent", text="Short text."),
    "17_broken_encoded_word": Expect("=?utf-8?B?###?= Help café", text="Body."),
    "18_rfc2231_filename_utf8": Expect("Договор", attachments=("Договор № 5.pdf",)),
    "19_rfc2231_filename_cp1251": Expect("Счёт", attachments=("Счёт.pdf",)),
    "20_encoded_word_filename": Expect("Скриншот", attachments=("Снимок экрана.png",)),
    "21_raw_8bit_filename_koi8": Expect("Файл", text="Отчёт прилагаю.", attachments=("Отчёт.txt",)),
    "22_rfc2231_continuations": Expect(attachments=("very long report name with é accents.pdf",)),
    "23_html_only_script": Expect("HTML only", text="The export button does nothing.", language="en",
                                  html_has=("<b>export</b>",),
                                  html_lacks=("script", "alert", "onload", "onclick", "iframe", "javascript:", "<form",
                                              "<style", "color:red")),
    "24_html_tracking_pixels": Expect(text="Where is my invoice for October?",
                                      notes=frozenset({"tracking_pixels_removed"}),
                                      html_has=("https://cdn.example/logo.png",),
                                      html_lacks=("track.example", "track2.example")),
    "25_html_table_layout": Expect(text="Blue kettle  2", html_has=("<table>",)),
    "26_alternative_plain_html": Expect(text="Plain version of the request.",
                                        html_has=("<p>HTML <i>version</i> of the request.</p>",)),
    "27_apple_mail_inline_image": Expect("Error screenshot", "kate@icloud.example", text="Here is the error:",
                                         attachments=("screenshot.png",), inline=("screenshot.png",),
                                         html_has=('src="cid:image001@apple.example"',)),
    # Placed in the HTML, but its bytes are SVG with script: a download, never shown in place.
    "28_inline_svg_disguised": Expect(attachments=("pic.png",), inline=()),
    "29_inline_image_unreferenced": Expect(attachments=("logo.gif",), inline=()),
    "30_attachments_pdf_png_jpeg": Expect(attachments=("invoice.pdf", "photo.jpg", "fake.png")),
    "31_too_many_attachments": Expect(attachments=tuple(f"receipt-{i:02d}.txt" for i in range(50)),
                                      notes=frozenset({"too_many_attachments"})),
    "32_attachment_200k": Expect(attachments=("app.log", "small.txt")),
    "33_forwarded_rfc822": Expect("Fwd: Broken link on the pricing page",
                                  text="The link to the PDF price list returns 404.",
                                  attachments=("Broken link on the pricing page.eml",)),
    "34_forwarded_twice": Expect(text="Forwarded message: Fwd: Broken link on the pricing page",
                                 attachments=("Fwd Broken link on the pricing page.eml",)),
    "35_forwarded_inline_gmail": Expect(text="Where is my parcel?", quoted=""),
    "36_tnef_winmail": Expect("Report", attachments=("report.txt", "photo.png"), notes=frozenset({"tnef_unpacked"})),
    "37_tnef_broken": Expect(attachments=("winmail.dat",), notes=frozenset({"tnef_unreadable"})),
    "38_pgp_signed": Expect(text="please reset my 2FA", attachments=("signature.asc",), notes=frozenset({"signed"})),
    "39_smime_signed": Expect(text="Statement attached.", attachments=("statement.pdf", "smime.p7s"),
                              notes=frozenset({"signed"})),
    "40_pgp_encrypted": Expect("Encrypted", attachments=("encrypted.pgp", "encrypted.asc"),
                               notes=frozenset({"encrypted"})),
    "41_smime_encrypted": Expect(attachments=("smime.p7m",), notes=frozenset({"encrypted"})),
    "42_mime_bomb_parts": Expect("Many parts", text="Bomb body.", notes=frozenset({"too_many_parts", "limits_hit"})),
    "43_mime_bomb_deep": Expect("Deep nesting", text="Top text.", notes=frozenset({"too_deep", "limits_hit"})),
    "44_huge_headers": Expect(sender="huge@example.com", text="Body after huge headers.",
                              notes=frozenset({"subject_truncated"})),
    "45_auto_reply": Expect(flags=AUTO, extra={"in_reply_to": "<reply-1@okno.test>"}),
    "46_vacation_reply": Expect("Out of Office: Order not arrived", flags=AUTO),
    "47_vacation_reply_ru": Expect("Автоответ: Re: Заказ", flags=AUTO, language="ru"),
    "48_auto_reply_loop": Expect(flags=frozenset({"auto_submitted", "is_bulk", "suppress_auto_reply"})),
    "49_precedence_bulk": Expect(flags=frozenset({"is_bulk"})),
    "50_mailing_list": Expect("[users] How do I export?", flags=frozenset({"is_bulk"})),
    "51_noreply_sender": Expect(sender="no-reply@service.example", flags=frozenset({"sender_is_system"})),
    "52_bounce_dsn": Expect(sender="mailer-daemon@mx.example.org", text="could not be delivered",
                            attachments=("delivery-status.txt", "original-headers.txt"),
                            flags=BOUNCE | {"suppress_auto_reply"}),
    "53_bounce_dsn_delayed": Expect(attachments=("delivery-status.txt", "Re Order.eml"),
                                    flags=BOUNCE),
    "54_bounce_nonstandard": Expect(attachments=(), flags=BOUNCE),
    "55_outlook_quoting_en": Expect(text="Thanks, it arrived today.", quoted="Hello Bob, the parcel is on its way.",
                                    extra={"in_reply_to": "<reply-1042-7@okno.test>",
                                           "references": ("<req-1042@corp.example>", "<reply-1042-7@okno.test>")}),
    "56_outlook_quoting_ru": Expect(text="Спасибо, всё получили, вопрос закрыт.", quoted="Ваш заказ отправлен."),
    "57_gmail_quoting_ru": Expect(text="прошло уже две недели.", quoted="> Возврат оформлен", language="ru"),
    "58_gmail_quoting_en_wrapped": Expect(text="the link says it expired.", quoted="> Please use the link below."),
    "59_thunderbird_ru": Expect(text="закрывающие документы.", quoted="Поддержка пишет:"),
    "60_original_message_ru": Expect(text="Подключение заработало, спасибо!", quoted="-----Исходное сообщение-----"),
    "61_interleaved_reply": Expect(text="> 1. Which plan are you on?\nBusiness.", quoted=""),
    "62_no_message_id": Expect(notes=frozenset({"no_message_id"}), extra={"external_id_is_fallback": True}),
    "63_date_in_future": Expect(notes=frozenset({"future_date"}), extra={"sent_at": None}),
    "64_date_invalid": Expect(notes=frozenset({"invalid_date"}), extra={"sent_at": None}),
    "65_reply_threading": Expect(
        extra={"in_reply_to": "<reply-1042-7@okno.test>",
               "references": ("<req-1042@example.com>", "<ack-1042@okno.test>", "<reply-1042-7@okno.test>"),
               "thread_ids": ("<reply-1042-7@okno.test>", "<ack-1042@okno.test>", "<req-1042@example.com>"),
               "sent_at": datetime(2026, 11, 16, 7, 15, tzinfo=UTC)}),
    "66_romanian": Expect("Problemă cu factura", language="ro"),
    "67_mixed_short": Expect(text="ok, спасибо!", language=None),
    "68_no_from": Expect(sender="sender-only@example.com", name="Only Sender"),
    "69_exchange_suppress": Expect(flags=frozenset({"suppress_auto_reply"})),
    "70_calendar_invite": Expect(attachments=("attachment.ics",)),
    "71_lf_only_line_endings": Expect("LF only", text="Lines end with LF only.\nSecond line."),
    "72_ukrainian": Expect("Питання щодо замовлення", language="uk"),
    # Spam (the filter's scores: tests/channels/test_spam_scoring.py).
    "73_spam_upstream_flagged": Expect("Notification", "draw@prizes.example", "Lucky Draw", "You have won a new phone",
                                       language="en"),
    # An address written unquoted as the display name is the name, never the sender.
    "74_spam_phishing_link": Expect("Your account is limited", "security@paypa1-alerts.example", "service@paypal.com",
                                    "unusual activity", html_has=('href="http://paypa1-secure.example.ru/login"',)),
    "75_spam_hidden_text_ru": Expect("ВАШ БОНУС ЖДЁТ!!!", "bonus@luck.example", "Казино Удача", "Онлайн-казино дарит",
                                     html_lacks=("display:none",)),
    "76_spam_seo_links": Expect("Partnership proposal", "team@seo-growth.example", "Growth Team",
                                "first page of Google", language="en"),
    "77_newsletter_not_spam": Expect("What is new in November", "news@vendor.example", "Vendor News",
                                     "shared inboxes", flags=frozenset({"is_bulk"})),
    "78_spam_impersonating_desk": Expect("Invoice overdue", "billing-notice@mailer.example", "support@okno.test",
                                         "will be suspended"),
}  # fmt: skip


@pytest.fixture(scope="module")
def parsed() -> dict[str, ParsedEmail]:
    return {path.stem: parse_email(path.read_bytes(), received_at=RECEIVED_AT) for path in sorted(CORPUS.glob("*.eml"))}


def test_the_corpus_is_complete_and_made_by_its_generator() -> None:
    files = {path.stem: path.read_bytes() for path in CORPUS.glob("*.eml")}
    assert len(files) >= 60
    assert set(files) == set(CASES), "every corpus file has a row here, and every row a file"
    assert _generator().cases() == files, "run tests/data/mail/make_corpus.py after changing it"


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_mail(name: str, parsed: dict[str, ParsedEmail]) -> None:
    expect, result = CASES[name], parsed[name]
    message = result.message
    if expect.subject is not None:
        assert message.subject == expect.subject
    if expect.sender is not None:
        assert message.sender.email == expect.sender
    if expect.name is not None:
        assert message.sender.name == expect.name
    if expect.text is not None:
        assert expect.text in message.new_text
        assert expect.text in message.body_text
    if expect.quoted is not None:
        if expect.quoted:
            assert expect.quoted in message.quoted_text
            assert expect.quoted not in message.new_text
            assert expect.quoted in message.body_text, "the full original is kept"
        else:
            assert message.quoted_text == ""
    if expect.attachments is not None:
        assert [a.filename for a in message.attachments] == list(expect.attachments)
    assert [a.filename for a in message.attachments if a.shows_inline] == list(expect.inline)
    assert {flag for flag in FLAGS if getattr(message, flag)} == set(expect.flags)
    assert message.may_auto_reply == (not expect.flags)
    assert expect.notes <= {note.code for note in result.notes}
    if expect.language is not False:
        assert message.language == expect.language
    for snippet in expect.html_has:
        assert message.body_html is not None and snippet in message.body_html
    for snippet in expect.html_lacks:
        assert snippet not in (message.body_html or "")
    for attribute, value in expect.extra.items():
        assert getattr(message, attribute) == value, attribute


def test_parsing_again_in_another_order_gives_the_same_result(parsed: dict[str, ParsedEmail]) -> None:
    # MIME headers parsed once are reused by later reads: what one mail's headers left behind changes no other.
    again = {
        path.stem: parse_email(path.read_bytes(), received_at=RECEIVED_AT)
        for path in sorted(CORPUS.glob("*.eml"))[::-1]
    }
    assert again == parsed


def test_every_mail_has_an_id_an_aware_utc_time_or_none_and_no_unreadable_text(parsed: dict[str, ParsedEmail]) -> None:
    for name, result in parsed.items():
        message = result.message
        assert message.external_id and message.external_id.startswith("<"), name
        assert message.sent_at is None or message.sent_at.utcoffset() is not None, name
        assert "\ufffd" not in message.subject + message.body_text, name
        assert len(message.subject) <= 998, name


def test_a_mail_without_message_id_gets_a_stable_id_from_its_bytes() -> None:
    raw = (CORPUS / "62_no_message_id.eml").read_bytes()
    first, again = parse_email(raw), parse_email(raw)
    digest = hashlib.sha256(raw).hexdigest()
    assert first.message.external_id == again.message.external_id == f"<{digest}@sha256.okno.invalid>"
    assert first.raw_sha256 == digest
    changed = parse_email(raw.replace(b"no Message-ID", b"no Message-Id"))
    assert changed.message.external_id != first.message.external_id


def test_bounces_name_the_message_we_sent_and_the_recipient(parsed: dict[str, ParsedEmail]) -> None:
    failed = parsed["52_bounce_dsn"].message.bounce
    assert failed is not None
    assert failed.original_message_id == "<reply-1042-7@okno.test>"
    assert failed.failed_recipients == ("gone@example.org",)
    assert (failed.action, failed.status, failed.permanent) == ("failed", "5.1.1", True)
    assert failed.diagnostic is not None and "User unknown" in failed.diagnostic

    delayed = parsed["53_bounce_dsn_delayed"].message.bounce
    assert delayed is not None
    assert delayed.original_message_id == "<reply-1043-2@okno.test>"
    assert (delayed.failed_recipients, delayed.permanent) == (("slow@example.org",), False)

    legacy = parsed["54_bounce_nonstandard"].message.bounce
    assert legacy is not None
    assert legacy.original_message_id == "<reply-1050-1@okno.test>"
    assert legacy.failed_recipients == ("nobody@old.example.net",)
    assert legacy.permanent
    assert all(parsed[name].message.bounce is None for name in parsed if "bounce" not in name)


def test_inline_images_keep_their_content_id_and_verified_type(parsed: dict[str, ParsedEmail]) -> None:
    (screenshot,) = parsed["27_apple_mail_inline_image"].attachments
    assert (screenshot.content_id, screenshot.is_inline, screenshot.image_type) == (
        "image001@apple.example",
        True,
        "image/png",
    )
    (disguised,) = parsed["28_inline_svg_disguised"].attachments
    assert (disguised.is_inline, disguised.image_type, disguised.content_type) == (True, None, "image/png")
    fake = parsed["30_attachments_pdf_png_jpeg"].attachments[2]
    assert (fake.filename, fake.image_type) == ("fake.png", None)
    assert InboundAttachment.build(filename="x", content_type="application/octet-stream", data=b"GIF89a...").image_type
    assert parsed["36_tnef_winmail"].attachments[1].image_type == "image/png"


def test_dropped_files_are_recorded_never_fatal(parsed: dict[str, ParsedEmail]) -> None:
    many = parsed["31_too_many_attachments"]
    assert [d.filename for d in many.dropped] == [f"receipt-{i:02d}.txt" for i in range(50, 60)]
    assert {d.reason for d in many.dropped} == {"too_many"}

    small_limit = parse_email((CORPUS / "32_attachment_200k.eml").read_bytes(), max_attachment_bytes=100_000)
    assert [a.filename for a in small_limit.attachments] == ["small.txt"]
    assert [(d.filename, d.reason) for d in small_limit.dropped] == [("app.log", "too_large")]
    assert small_limit.has_note("attachment_too_large")


def test_a_30_mb_attachment_over_the_limit_is_dropped_quickly_and_the_mail_kept() -> None:
    raw = _generator().big_attachment()
    assert len(raw) > 30 * 1024 * 1024
    started = datetime.now(UTC)
    result = parse_email(raw, max_attachment_bytes=25 * 1024 * 1024)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    assert result.message.subject == "Huge video"
    assert "The video of the problem is attached." in result.message.body_text
    assert result.attachments == ()
    (dropped,) = result.dropped
    assert (dropped.filename, dropped.content_type, dropped.reason) == ("video.mp4", "video/mp4", "too_large")
    assert dropped.size > 30 * 1024 * 1024
    assert elapsed < 5, "an over-limit file is refused from its size, not parsed line by line"


def test_mime_bombs_stop_at_the_limits(parsed: dict[str, ParsedEmail]) -> None:
    for name in ("42_mime_bomb_parts", "43_mime_bomb_deep"):
        assert parsed[name].limits_hit, name
    strict = parse_email((CORPUS / "42_mime_bomb_parts.eml").read_bytes(), max_parts=20)
    assert strict.limits_hit and strict.message.new_text.startswith("Bomb body.")
    assert not parsed["01_plain_en"].limits_hit


def test_forwarded_messages_are_summarised(parsed: dict[str, ParsedEmail]) -> None:
    (forwarded,) = parsed["33_forwarded_rfc822"].forwarded
    assert forwarded.subject == "Broken link on the pricing page"
    assert forwarded.sender == "Original Sender <orig@example.org>"
    assert forwarded.snippet == "The link to the PDF price list returns 404."
    eml = parsed["33_forwarded_rfc822"].attachments[0]
    assert eml.content_type == "message/rfc822" and b"Message-ID: <inner@example.org>" in eml.data


def test_garbage_never_raises() -> None:
    """Truncated and bit-flipped corpus mails: a result every time, never an exception."""
    rng = random.Random(5)
    sources = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml")) if path.stat().st_size < 50_000]
    samples = [b"", b"\x00\xff" * 10, b"From: \r\n\r\n", b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"]
    for _ in range(150):
        raw = bytearray(rng.choice(sources))
        raw = raw[: rng.randrange(1, len(raw) + 1)]
        for _ in range(rng.randrange(0, 20)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        samples.append(bytes(raw))
    for raw in samples:
        result = parse_email(raw, received_at=RECEIVED_AT)
        assert result.message.external_id
