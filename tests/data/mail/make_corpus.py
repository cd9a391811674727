# ruff: noqa: E501  (the corpus is a table of long literal lines; wrapping them would hide the bytes)
"""Writes the tricky-email corpus (tests/data/mail/*.eml) deterministically.

Run from the repository: ``python tests/data/mail/make_corpus.py``. Every file is built from
bytes written here (no clock, no randomness), so running it again gives the same files; the
expected results live in tests/channels/test_email_parse.py. The 30 MB attachment is made at
test time instead of being committed (``big_attachment`` below is imported by the test).
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e2a1c5ad0000000049454e44ae426082"
)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

RU = "Здравствуйте! У меня не работает вход в личный кабинет, пишет «неверный пароль». Помогите, пожалуйста."
RO = "Bună ziua, comanda mea nu a ajuns încă și nu pot să urmăresc coletul. Mulțumesc frumos pentru ajutor."
EN = "Hello, my order #4521 has not arrived yet and the tracking page shows nothing. Could you check, please?"


def b64(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def word(text: str, charset: str = "utf-8", encoding: str = "B") -> str:
    """An RFC 2047 encoded word."""
    data = text.encode(charset)
    if encoding == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    quoted = "".join(chr(b) if b < 128 and chr(b).isalnum() else ("_" if b == 32 else f"={b:02X}") for b in data)
    return f"=?{charset}?Q?{quoted}?="


def mail(headers: list[tuple[str, str | bytes]], body: bytes, *, date: bool = True, msgid: str | None = "") -> bytes:
    lines: list[bytes] = []
    defaults: list[tuple[str, str | bytes]] = []
    if date:
        defaults.append(("Date", "Mon, 16 Nov 2026 10:15:00 +0300"))
    if msgid == "":
        msgid = None
    names = {name.lower() for name, _ in headers}
    if "message-id" not in names and msgid is not None:
        defaults.append(("Message-ID", msgid))
    if "mime-version" not in names:
        defaults.append(("MIME-Version", "1.0"))
    for name, value in [*headers, *defaults]:
        raw = (
            value if isinstance(value, bytes) else value.encode()
        )  # raw UTF-8 headers (RFC 6532) where the case has them
        lines.append(name.encode("ascii") + b": " + raw)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def part(headers: list[tuple[str, str | bytes]], body: bytes) -> bytes:
    lines = [name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()) for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def multipart(boundary: str, parts: list[bytes], preamble: bytes = b"") -> bytes:
    out = preamble
    for item in parts:
        out += b"--" + boundary.encode() + b"\r\n" + item + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def text_part(text: str, charset: str = "utf-8", subtype: str = "plain", cte: str = "8bit") -> bytes:
    data = text.encode(charset)
    if cte == "base64":
        data = b64(data)
    elif cte == "quoted-printable":
        import quopri

        data = quopri.encodestring(data)
    return part([("Content-Type", f"text/{subtype}; charset={charset}"), ("Content-Transfer-Encoding", cte)], data)


def file_part(
    name_header: str | bytes, ctype: str, data: bytes, *, cid: str | None = None, inline: bool = False
) -> bytes:
    disposition = b"inline" if inline else b"attachment"
    raw_name = name_header if isinstance(name_header, bytes) else name_header.encode()
    headers: list[tuple[str, str | bytes]] = [
        ("Content-Type", ctype),
        ("Content-Disposition", disposition + b"; " + raw_name),
        ("Content-Transfer-Encoding", "base64"),
    ]
    if cid:
        headers.append(("Content-ID", f"<{cid}>"))
    return part(headers, b64(data))


def simple(sender: str, subject: str, text: str, *extra: tuple[str, str | bytes], msgid: str | None = None) -> bytes:
    return mail(
        [("From", sender), ("To", "support@okno.test"), ("Subject", subject), *extra,
         ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
        text.encode(),
        msgid=msgid,
    )  # fmt: skip


def tnef_blob() -> bytes:
    """A minimal TNEF stream (winmail.dat) with two attached files."""

    def attribute(level: int, name: int, kind: int, data: bytes) -> bytes:
        checksum = sum(data) & 0xFFFF
        return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # TNEF version
    out += attribute(1, 0x9007, 0x0008, struct.pack("<II", 1252, 0))  # OEM code page
    for name, data in (("report.txt", b"Quarterly numbers attached.\r\n"), ("photo.png", PNG)):
        out += attribute(2, 0x9002, 0x0006, b"\x01\x00\x00\x00" + b"\xff" * 10)  # attachment rendering: starts one
        out += attribute(2, 0x8010, 0x0001, name.encode() + b"\x00")
        out += attribute(2, 0x800F, 0x0006, data)
    return out


def big_attachment(size: int = 30 * 1024 * 1024) -> bytes:
    """A mail with one base64 attachment decoding to about ``size`` bytes (made at test time; never committed)."""
    line = b"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4"  # 57 bytes per line
    encoded = (line + b"\r\n") * (size // 57 + 1)
    video = part([("Content-Type", "video/mp4"), ("Content-Disposition", 'attachment; filename="video.mp4"'),
                  ("Content-Transfer-Encoding", "base64")], encoded)  # fmt: skip
    body = multipart("big", [text_part("The video of the problem is attached."), video])
    return mail([("From", "Big Sender <big@example.com>"), ("To", "support@okno.test"), ("Subject", "Huge video"),
                 ("Content-Type", 'multipart/mixed; boundary="big"')], body, msgid="<big@example.com>")  # fmt: skip


def cases() -> dict[str, bytes]:
    c: dict[str, bytes] = {}
    c["01_plain_en"] = simple("Jane Doe <Jane.Doe@Example.com>", "Order not arrived", EN, msgid="<en1@example.com>")
    c["02_plain_ru_utf8"] = simple(
        f"{word('Иван Петров')} <ivan@example.ru>", word("Не могу войти"), RU, msgid="<ru1@example.ru>"
    )
    c["03_koi8r_encoded"] = mail(
        [("From", f"{word('Мария Смирнова', 'koi8-r')} <maria@example.ru>"), ("To", "support@okno.test"),
         ("Subject", word("Ошибка при оплате заказа", "koi8-r", "Q")),
         ("Content-Type", "text/plain; charset=koi8-r"), ("Content-Transfer-Encoding", "8bit")],
        ("Добрый день. При оплате заказа карта списала деньги дважды. Верните, пожалуйста, лишнее.").encode("koi8-r"),
        msgid="<koi8@example.ru>",
    )  # fmt: skip
    c["04_cp1251_encoded"] = mail(
        [("From", f"{word('Олег Кузнецов', 'windows-1251')} <oleg@example.ru>"), ("To", "support@okno.test"),
         ("Subject", word("Счёт на оплату не пришёл", "windows-1251")),
         ("Content-Type", "text/plain; charset=windows-1251"), ("Content-Transfer-Encoding", "quoted-printable")],
        __import__("quopri").encodestring("Здравствуйте, счёт на оплату так и не пришёл на почту. Проверьте, пожалуйста.".encode("cp1251")),
        msgid="<cp1251@example.ru>",
    )  # fmt: skip
    c["05_koi8r_raw_headers"] = mail(
        [("From", "Анна Иванова <anna@example.ru>".encode("koi8-r")), ("To", b"support@okno.test"),
         ("Subject", "Возврат товара".encode("koi8-r")),
         ("Content-Type", "text/plain; charset=koi8-r"), ("Content-Transfer-Encoding", "8bit")],
        "Хочу вернуть товар, он пришёл с повреждённой упаковкой.".encode("koi8-r"),
        msgid="<koi8raw@example.ru>",
    )  # fmt: skip
    c["06_cp1251_raw_no_charset"] = mail(
        [("From", "Пётр Сидоров <petr@example.ru>".encode("cp1251")), ("To", b"support@okno.test"),
         ("Subject", "Не приходит письмо с подтверждением".encode("cp1251")),
         ("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "8bit")],
        "Регистрируюсь уже третий раз, а письмо с подтверждением так и не приходит.".encode("cp1251"),
        msgid="<cp1251raw@example.ru>",
    )  # fmt: skip
    c["07_cp1251_declared_latin1"] = mail(
        [("From", "Lying Charset <liar@example.ru>"), ("To", "support@okno.test"), ("Subject", "Lying charset"),
         ("Content-Type", "text/plain; charset=iso-8859-1"), ("Content-Transfer-Encoding", "8bit")],
        "Добрый вечер, приложение закрывается сразу после запуска на телефоне.".encode("cp1251"),
        msgid="<liar1@example.ru>",
    )  # fmt: skip
    c["08_koi8_declared_cp1251"] = mail(
        [("From", "Wrong Table <wrong@example.ru>"), ("To", "support@okno.test"), ("Subject", "Wrong table"),
         ("Content-Type", "text/plain; charset=windows-1251"), ("Content-Transfer-Encoding", "8bit")],
        "Подскажите, как изменить адрес доставки в уже оформленном заказе?".encode("koi8-r"),
        msgid="<liar2@example.ru>",
    )  # fmt: skip
    c["09_utf8_declared_cp1251"] = mail(
        [("From", "UTF Liar <utf@example.ru>"), ("To", "support@okno.test"), ("Subject", "Really UTF-8"),
         ("Content-Type", "text/plain; charset=windows-1251"), ("Content-Transfer-Encoding", "8bit")],
        "Спасибо, проблема с доступом решилась сама собой после обновления.".encode(),
        msgid="<liar3@example.ru>",
    )  # fmt: skip
    c["10_missing_charset_utf8"] = mail(
        [("From", "No Charset <nocs@example.com>"), ("To", "support@okno.test"), ("Subject", "Café order"),
         ("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "8bit")],
        "The café voucher (10 €) did not apply at checkout. Naïve question: is it still valid?".encode(),
        msgid="<nocs@example.com>",
    )  # fmt: skip
    c["11_unknown_charset_label"] = mail(
        [("From", "Odd Label <odd@example.com>"), ("To", "support@okno.test"), ("Subject", "Odd label"),
         ("Content-Type", 'text/plain; charset="x-unknown"'), ("Content-Transfer-Encoding", "8bit")],
        "Grüße aus München — die Rechnung fehlt.".encode(),
        msgid="<odd@example.com>",
    )  # fmt: skip
    c["12_iso8859_16_romanian"] = mail(
        [("From", f"{word('Ștefan Popescu', 'iso-8859-16', 'Q')} <stefan@example.ro>"), ("To", "support@okno.test"),
         ("Subject", word("Comanda nu a ajuns", "iso-8859-16", "Q")),
         ("Content-Type", "text/plain; charset=iso-8859-16"), ("Content-Transfer-Encoding", "8bit")],
        RO.encode("iso-8859-16"),
        msgid="<ro16@example.ro>",
    )  # fmt: skip
    c["13_iso8859_5_russian"] = mail(
        [("From", "Old Client <old@example.ru>"), ("To", "support@okno.test"), ("Subject", word("Старый клиент", "iso-8859-5")),
         ("Content-Type", "text/plain; charset=iso-8859-5"), ("Content-Transfer-Encoding", "8bit")],
        "Пишу из старой почтовой программы, надеюсь, буквы дойдут правильно.".encode("iso-8859-5"),
        msgid="<iso5@example.ru>",
    )  # fmt: skip
    c["14_qp_romanian"] = mail(
        [("From", "Ioana <ioana@example.ro>"), ("To", "support@okno.test"), ("Subject", word("Întrebare despre factură", "utf-8", "Q")),
         ("Content-Type", "multipart/alternative; boundary=alt")],
        multipart("alt", [text_part(RO, cte="quoted-printable"), text_part(f"<p>{RO}</p>", subtype="html", cte="quoted-printable")]),
        msgid="<qp@example.ro>",
    )  # fmt: skip
    subject_bytes = "Проблема с доставкой".encode()
    split_words = " ".join(
        f"=?UTF-8?B?{base64.b64encode(subject_bytes[i : i + 7]).decode()}?=" for i in range(0, len(subject_bytes), 7)
    )
    c["15_encoded_word_split_multibyte"] = simple(
        "Split <split@example.ru>", split_words, "Текст письма о доставке.", msgid="<split@example.ru>"
    )
    c["16_encoded_words_mixed"] = simple(
        "Mixed <mixed@example.ru>",
        f"Re: {word('Заказ', 'koi8-r')} {word('№ 123', 'utf-8', 'Q')} - urgent",
        "Short text.",
        msgid="<mixed@example.ru>",
    )
    c["17_broken_encoded_word"] = simple(
        "Broken <broken@example.com>",
        "=?utf-8?B?###?= Help =?bogus-cs?Q?caf=E9?=",
        "Body.",
        msgid="<broken@example.com>",
    )
    c["18_rfc2231_filename_utf8"] = mail(
        [("From", "Files <files@example.ru>"), ("To", "support@okno.test"), ("Subject", "Договор"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Договор во вложении."), file_part("filename*=utf-8''%D0%94%D0%BE%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%20%E2%84%96%205.pdf", "application/pdf", PDF)]),
        msgid="<2231a@example.ru>",
    )  # fmt: skip
    name_1251 = "".join(f"%{b:02X}" for b in "Счёт.pdf".encode("cp1251"))
    c["19_rfc2231_filename_cp1251"] = mail(
        [("From", "Files <files@example.ru>"), ("To", "support@okno.test"), ("Subject", "Счёт"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Счёт во вложении."), file_part(f"filename*=windows-1251''{name_1251}", "application/pdf", PDF)]),
        msgid="<2231b@example.ru>",
    )  # fmt: skip
    c["20_encoded_word_filename"] = mail(
        [("From", "Outlook <outlook@example.ru>"), ("To", "support@okno.test"), ("Subject", "Скриншот"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Скриншот ошибки."), file_part(f'filename="{word("Снимок экрана.png")}"', "image/png", PNG)]),
        msgid="<ewfile@example.ru>",
    )  # fmt: skip
    c["21_raw_8bit_filename_koi8"] = mail(
        [("From", "Old Mailer <oldmailer@example.ru>"), ("To", "support@okno.test"), ("Subject", "Файл"),
         ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Отчёт прилагаю.", "koi8-r"), file_part(b'filename="' + "Отчёт.txt".encode("koi8-r") + b'"', "text/plain", b"report")]),
        msgid="<rawfile@example.ru>",
    )  # fmt: skip
    c["22_rfc2231_continuations"] = mail(
        [("From", "Long Name <long@example.com>"), ("To", "support@okno.test"), ("Subject", "Long file name"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("See attached."), file_part("filename*0*=utf-8''very%20long%20report%20name%20;\r\n filename*1*=with%20%C3%A9%20accents.pdf", "application/pdf", PDF)]),
        msgid="<cont@example.com>",
    )  # fmt: skip
    c["23_html_only_script"] = mail(
        [("From", "Html Only <html@example.com>"), ("To", "support@okno.test"), ("Subject", "HTML only"),
         ("Content-Type", "text/html; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
        b"<html><head><style>p{color:red}</style><script>alert('x')</script></head><body onload=\"steal()\">"
        b"<p>Hello support,</p><p onclick=\"evil()\">The <b>export</b> button does nothing.</p>"
        b"<iframe src=\"https://evil.example/\"></iframe><a href=\"javascript:alert(1)\">click</a>"
        b"<form action=\"https://evil.example/\"><input name=p></form><p>Thanks, Bob</p></body></html>",
        msgid="<html1@example.com>",
    )  # fmt: skip
    c["24_html_tracking_pixels"] = mail(
        [("From", "Newsletter Person <person@example.com>"), ("To", "support@okno.test"), ("Subject", "Question about invoice"),
         ("Content-Type", "text/html; charset=utf-8")],
        b"<p>Where is my invoice for October?</p>"
        b"<img src=\"https://track.example/open.gif?u=42\" width=\"1\" height=\"1\" alt=\"\">"
        b"<img src=\"http://track2.example/p.png\" width=\"0\" height=\"0\">"
        b"<p><img src=\"https://cdn.example/logo.png\" width=\"120\" height=\"40\" alt=\"logo\"></p>",
        msgid="<pixel@example.com>",
    )  # fmt: skip
    c["25_html_table_layout"] = mail(
        [("From", "Shop <orders@shop.example>"), ("To", "support@okno.test"), ("Subject", "Order summary"), ("Content-Type", "text/html; charset=utf-8")],
        b"<table><tr><td>Item</td><td>Qty</td></tr><tr><td>Blue kettle</td><td>2</td></tr></table><div>Total: 40 EUR</div>",
        msgid="<table@shop.example>",
    )  # fmt: skip
    c["26_alternative_plain_html"] = mail(
        [("From", "Both <both@example.com>"), ("To", "support@okno.test"), ("Subject", "Both bodies"), ("Content-Type", "multipart/alternative; boundary=alt")],
        multipart("alt", [text_part("Plain version of the request."), text_part("<p>HTML <i>version</i> of the request.</p>", subtype="html")]),
        msgid="<alt@example.com>",
    )  # fmt: skip
    related = multipart("rel", [
        text_part('<div>Here is the error:<br><img src="cid:image001@apple.example" alt="screenshot"><br>Regards, Kate</div>', subtype="html"),
        file_part('filename="screenshot.png"', "image/png", PNG, cid="image001@apple.example", inline=True),
    ])  # fmt: skip
    c["27_apple_mail_inline_image"] = mail(
        [("From", "Kate Apple <kate@icloud.example>"), ("To", "support@okno.test"), ("Subject", "Error screenshot"),
         ("Content-Type", "multipart/alternative; boundary=alt")],
        multipart("alt", [text_part("Here is the error:\n\n[screenshot]\n\nRegards, Kate"),
                          part([("Content-Type", 'multipart/related; type="text/html"; boundary=rel')], related)]),
        msgid="<apple@icloud.example>",
    )  # fmt: skip
    c["28_inline_svg_disguised"] = mail(
        [("From", "Tricky <tricky@example.com>"), ("To", "support@okno.test"), ("Subject", "Look at this"), ("Content-Type", "multipart/related; boundary=rel")],
        multipart("rel", [text_part('<p>See <img src="cid:pic1"></p>', subtype="html"), file_part('filename="pic.png"', "image/png", SVG, cid="pic1", inline=True)]),
        msgid="<svg@example.com>",
    )  # fmt: skip
    c["29_inline_image_unreferenced"] = mail(
        [("From", "Unref <unref@example.com>"), ("To", "support@okno.test"), ("Subject", "Logo"), ("Content-Type", "multipart/related; boundary=rel")],
        multipart("rel", [text_part("<p>No image placed here.</p>", subtype="html"), file_part('filename="logo.gif"', "image/gif", GIF, cid="logo", inline=True)]),
        msgid="<unref@example.com>",
    )  # fmt: skip
    c["30_attachments_pdf_png_jpeg"] = mail(
        [("From", "Files <files@example.com>"), ("To", "support@okno.test"), ("Subject", "Documents"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Documents attached."), file_part('filename="invoice.pdf"', "application/pdf", PDF),
                        file_part('filename="photo.jpg"', "image/jpeg", JPEG), file_part('filename="fake.png"', "image/png", b"not really a png")]),
        msgid="<files@example.com>",
    )  # fmt: skip
    many = [text_part("Sixty receipts attached.")] + [
        file_part(f'filename="receipt-{i:02d}.txt"', "text/plain", f"receipt {i}".encode()) for i in range(60)
    ]
    c["31_too_many_attachments"] = mail(
        [("From", "Many <many@example.com>"), ("To", "support@okno.test"), ("Subject", "Receipts"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", many), msgid="<many@example.com>",
    )  # fmt: skip
    c["32_attachment_200k"] = mail(
        [("From", "Medium <medium@example.com>"), ("To", "support@okno.test"), ("Subject", "Log file"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Log attached."), file_part('filename="app.log"', "text/plain", b"x" * 200_000), file_part('filename="small.txt"', "text/plain", b"small")]),
        msgid="<medium@example.com>",
    )  # fmt: skip
    inner = simple(
        "Original Sender <orig@example.org>",
        "Broken link on the pricing page",
        "The link to the PDF price list returns 404.",
        msgid="<inner@example.org>",
    )
    c["33_forwarded_rfc822"] = mail(
        [("From", "Forwarder <fwd@example.com>"), ("To", "support@okno.test"), ("Subject", "Fwd: Broken link on the pricing page"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Please look at the message below, a customer sent it to me."),
                        part([("Content-Type", "message/rfc822"), ("Content-Disposition", "attachment")], inner)]),
        msgid="<fwd@example.com>",
    )  # fmt: skip
    middle = mail(
        [("From", "Middle <middle@example.com>"), ("To", "fwd@example.com"), ("Subject", "Fwd: Broken link on the pricing page"), ("Content-Type", "multipart/mixed; boundary=m")],
        multipart("m", [text_part("FYI"), part([("Content-Type", "message/rfc822")], inner)]), msgid="<middle@example.com>",
    )  # fmt: skip
    c["34_forwarded_twice"] = mail(
        [("From", "Forwarder <fwd@example.com>"), ("To", "support@okno.test"), ("Subject", "Fwd: Fwd: pricing"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Twice forwarded."), part([("Content-Type", "message/rfc822")], middle)]), msgid="<fwd2@example.com>",
    )  # fmt: skip
    c["35_forwarded_inline_gmail"] = simple(
        "Forwarder <fwd@example.com>", "Fwd: delivery",
        "---------- Forwarded message ---------\nFrom: Customer <cust@example.org>\nDate: Mon, 9 Nov 2026\nSubject: delivery\nTo: <fwd@example.com>\n\nWhere is my parcel?",
        msgid="<fwdinline@example.com>",
    )  # fmt: skip
    c["36_tnef_winmail"] = mail(
        [("From", "Outlook User <outlook@corp.example>"), ("To", "support@okno.test"), ("Subject", "Report"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Report attached (Outlook rich text)."),
                        part([("Content-Type", 'application/ms-tnef; name="winmail.dat"'), ("Content-Disposition", 'attachment; filename="winmail.dat"'),
                              ("Content-Transfer-Encoding", "base64")], b64(tnef_blob()))]),
        msgid="<tnef@corp.example>",
    )  # fmt: skip
    c["37_tnef_broken"] = mail(
        [("From", "Outlook User <outlook@corp.example>"), ("To", "support@okno.test"), ("Subject", "Broken winmail"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("Something attached."), file_part('filename="winmail.dat"', "application/ms-tnef", b"\x78\x9f\x3e\x22garbage")]),
        msgid="<tnefbad@corp.example>",
    )  # fmt: skip
    signed_body = part([("Content-Type", "text/plain; charset=utf-8")], b"Signed request: please reset my 2FA.")
    c["38_pgp_signed"] = mail(
        [("From", "Careful <careful@example.com>"), ("To", "support@okno.test"), ("Subject", "Signed"),
         ("Content-Type", 'multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary=s')],
        multipart("s", [signed_body, part([("Content-Type", 'application/pgp-signature; name="signature.asc"')],
                                          b"-----BEGIN PGP SIGNATURE-----\r\nabc\r\n-----END PGP SIGNATURE-----")]),
        msgid="<pgpsig@example.com>",
    )  # fmt: skip
    c["39_smime_signed"] = mail(
        [("From", "Bank Clerk <clerk@bank.example>"), ("To", "support@okno.test"), ("Subject", "S/MIME signed"),
         ("Content-Type", 'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=s')],
        multipart("s", [part([("Content-Type", "multipart/mixed; boundary=in")],
                             multipart("in", [text_part("Statement attached."), file_part('filename="statement.pdf"', "application/pdf", PDF)])),
                        file_part('filename="smime.p7s"', "application/pkcs7-signature", b"\x30\x82\x01\x00fake")]),
        msgid="<smimesig@bank.example>",
    )  # fmt: skip
    c["40_pgp_encrypted"] = mail(
        [("From", "Secret <secret@example.com>"), ("To", "support@okno.test"), ("Subject", "Encrypted"),
         ("Content-Type", 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary=e')],
        multipart("e", [part([("Content-Type", "application/pgp-encrypted")], b"Version: 1"),
                        part([("Content-Type", 'application/octet-stream; name="encrypted.asc"')],
                             b"-----BEGIN PGP MESSAGE-----\r\nhQEMA\r\n-----END PGP MESSAGE-----")]),
        msgid="<pgpenc@example.com>",
    )  # fmt: skip
    c["41_smime_encrypted"] = mail(
        [("From", "Secret <secret@example.com>"), ("To", "support@okno.test"), ("Subject", "S/MIME encrypted"),
         ("Content-Type", 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'),
         ("Content-Disposition", 'attachment; filename="smime.p7m"'), ("Content-Transfer-Encoding", "base64")],
        b64(b"\x30\x80\x06\x09encrypted-bytes"),
        msgid="<smimeenc@example.com>",
    )  # fmt: skip
    bomb = [text_part("Bomb body.")] + [part([("Content-Type", "text/plain")], b"x") for _ in range(5000)]
    c["42_mime_bomb_parts"] = mail(
        [("From", "Bomber <bomb@example.com>"), ("To", "support@okno.test"), ("Subject", "Many parts"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", bomb), msgid="<bomb@example.com>",
    )  # fmt: skip
    deep = text_part("Deep inside.")
    for level in range(1500):
        deep = part([("Content-Type", f"multipart/mixed; boundary=d{level}")], multipart(f"d{level}", [deep]))
    c["43_mime_bomb_deep"] = mail(
        [("From", "Deep <deep@example.com>"), ("To", "support@okno.test"), ("Subject", "Deep nesting"), *[(k, v) for k, v in [("Content-Type", "multipart/mixed; boundary=top")]]],
        multipart("top", [text_part("Top text."), deep]), msgid="<deep@example.com>",
    )  # fmt: skip
    received = [
        ("Received", f"from relay{i}.example by relay{i + 1}.example; Mon, 16 Nov 2026 10:{i % 60:02d}:00 +0000")
        for i in range(3000)
    ]
    c["44_huge_headers"] = mail(
        [*received, ("From", "Huge <huge@example.com>"), ("To", "support@okno.test"), ("Subject", "Long " + "subject " * 20000),
         ("X-Junk", "y" * 200_000), ("Content-Type", "text/plain; charset=utf-8")],
        b"Body after huge headers.", msgid="<huge@example.com>",
    )  # fmt: skip
    c["45_auto_reply"] = simple(
        "Helpdesk Robot <robot@vendor.example>", "Re: Order not arrived", "We received your request and will answer soon.",
        ("Auto-Submitted", "auto-replied"), ("In-Reply-To", "<reply-1@okno.test>"), msgid="<auto@vendor.example>",
    )  # fmt: skip
    c["46_vacation_reply"] = simple(
        "Jane Doe <jane.doe@example.com>", "Out of Office: Order not arrived", "I am on vacation until Monday.",
        ("X-Autoreply", "yes"), msgid="<vac@example.com>",
    )  # fmt: skip
    c["47_vacation_reply_ru"] = simple(
        "Иван <ivan@example.ru>", word("Автоответ: Re: Заказ"), "Я в отпуске до понедельника, отвечу после возвращения.",
        ("Auto-Submitted", "auto-replied (vacation)"), msgid="<vacru@example.ru>",
    )  # fmt: skip
    c["48_auto_reply_loop"] = simple(
        "Support <support@okno.test>", "[#1042] We received your request", "Your request #1042 was received.",
        ("Auto-Submitted", "auto-generated"), ("Precedence", "auto_reply"), ("X-Auto-Response-Suppress", "All"),
        ("In-Reply-To", "<ack-1042@okno.test>"), msgid="<loop@okno.test>",
    )  # fmt: skip
    c["49_precedence_bulk"] = simple(
        "Promo <promo@shop.example>",
        "Big sale",
        "Everything is 50% off.",
        ("Precedence", "bulk"),
        msgid="<bulk@shop.example>",
    )
    c["50_mailing_list"] = simple(
        "Member <member@example.org>", "[users] How do I export?", "Anyone knows how to export tickets?",
        ("List-Id", "Users list <users.lists.example.org>"), ("List-Unsubscribe", "<mailto:users-leave@lists.example.org>"),
        ("Precedence", "list"), msgid="<list@example.org>",
    )  # fmt: skip
    c["51_noreply_sender"] = simple(
        "Service <no-reply@service.example>",
        "Your password was changed",
        "If this was not you, contact us.",
        msgid="<noreply@service.example>",
    )
    dsn_report = multipart("rep", [
        text_part("This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not be delivered."),
        part([("Content-Type", "message/delivery-status")],
             b"Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\n"
             b"Final-Recipient: rfc822; gone@example.org\r\nOriginal-Recipient: rfc822;gone@example.org\r\nAction: failed\r\n"
             b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"),
        part([("Content-Type", "text/rfc822-headers")],
             b"From: Support <support@okno.test>\r\nTo: gone@example.org\r\nSubject: [#1042] Re: Order\r\nMessage-ID: <reply-1042-7@okno.test>"),
    ])  # fmt: skip
    c["52_bounce_dsn"] = mail(
        [("From", "MAILER-DAEMON@mx.example.org (Mail Delivery System)"), ("To", "support@okno.test"),
         ("Subject", "Undelivered Mail Returned to Sender"), ("Auto-Submitted", "auto-replied"), ("Return-Path", "<>"),
         ("Content-Type", 'multipart/report; report-type=delivery-status; boundary="rep"')],
        dsn_report, msgid="<dsn@mx.example.org>",
    )  # fmt: skip
    delayed = multipart("rep", [
        text_part("Delivery is delayed; we will keep trying."),
        part([("Content-Type", "message/delivery-status")],
             b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\nStatus: 4.4.1"),
        part([("Content-Type", "message/rfc822")], simple("Support <support@okno.test>", "Re: Order", "Our answer.", msgid="<reply-1043-2@okno.test>")),
    ])  # fmt: skip
    c["53_bounce_dsn_delayed"] = mail(
        [("From", "Mail Delivery Subsystem <postmaster@mx.example.org>"), ("To", "support@okno.test"), ("Subject", "Delivery Status Notification (Delay)"),
         ("Content-Type", 'multipart/report; report-type=delivery-status; boundary="rep"')],
        delayed, msgid="<dsn2@mx.example.org>",
    )  # fmt: skip
    c["54_bounce_nonstandard"] = simple(
        "MAILER-DAEMON <mailer-daemon@old.example.net>", "failure notice",
        "Hi. This is the qmail-send program at old.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<nobody@old.example.net>:\nSorry, no mailbox here by that name.\n\n--- Below this line is a copy of the message.\n\n"
        "Message-ID: <reply-1050-1@okno.test>\nSubject: Re: refund",
        msgid="<qmail@old.example.net>",
    )  # fmt: skip
    c["55_outlook_quoting_en"] = simple(
        "Bob Corp <bob@corp.example>", "RE: [#1042] Order not arrived",
        "Thanks, it arrived today.\n\nBob\n\n________________________________\nFrom: Support <support@okno.test>\nSent: Monday, November 16, 2026 10:00 AM\n"
        "To: Bob Corp <bob@corp.example>\nSubject: [#1042] Order not arrived\n\nHello Bob, the parcel is on its way.",
        ("In-Reply-To", "<reply-1042-7@okno.test>"), ("References", "<req-1042@corp.example> <reply-1042-7@okno.test>"), msgid="<outlook@corp.example>",
    )  # fmt: skip
    c["56_outlook_quoting_ru"] = simple(
        "Светлана <sveta@corp.example>", "RE: Заказ",
        "Спасибо, всё получили, вопрос закрыт.\n\nОт: Поддержка <support@okno.test>\nОтправлено: 16 ноября 2026 г. 10:00\nКому: Светлана <sveta@corp.example>\n"
        "Тема: Заказ\n\nСветлана, добрый день! Ваш заказ отправлен.",
        msgid="<outlookru@corp.example>",
    )  # fmt: skip
    c["57_gmail_quoting_ru"] = simple(
        "Алексей <alexey@gmail.example>", "Re: Возврат",
        "Добрый день! Деньги так и не вернулись на карту, прошло уже две недели.\n\n"
        "пн, 16 нояб. 2026 г. в 10:00, Поддержка Okno <support@okno.test>:\n\n> Алексей, здравствуйте!\n> Возврат оформлен, деньги придут в течение 10 дней.\n",
        msgid="<gmailru@gmail.example>",
    )  # fmt: skip
    c["58_gmail_quoting_en_wrapped"] = simple(
        "John Smith <john@gmail.example>", "Re: Password reset",
        "Still not working, the link says it expired.\n\nOn Mon, 16 Nov 2026 at 10:00, Okno Support <\nsupport@okno.test> wrote:\n\n> Please use the link below.\n> https://okno.test/reset\n",
        msgid="<gmailen@gmail.example>",
    )  # fmt: skip
    c["59_thunderbird_ru"] = simple(
        "Ольга <olga@example.ru>", "Re: Счёт",
        "Оплатила счёт, пришлите, пожалуйста, закрывающие документы.\n\n16.11.2026 10:00, Поддержка пишет:\n> Счёт во вложении.\n",
        msgid="<tb@example.ru>",
    )  # fmt: skip
    c["60_original_message_ru"] = simple(
        "Дмитрий <dmitry@example.ru>", "Re: Подключение",
        "Подключение заработало, спасибо!\n\n-----Исходное сообщение-----\nОт: Поддержка\nТема: Подключение\n\nПопробуйте перезагрузить роутер.",
        msgid="<orig@example.ru>",
    )  # fmt: skip
    c["61_interleaved_reply"] = simple(
        "Inline Replier <inline@example.com>", "Re: Questions",
        "> 1. Which plan are you on?\nBusiness.\n> 2. Which browser?\nFirefox 140.\n",
        msgid="<interleaved@example.com>",
    )  # fmt: skip
    c["62_no_message_id"] = simple(
        "No Id <noid@example.com>", "No message id", "This mail has no Message-ID header.", msgid=None
    )
    c["63_date_in_future"] = mail(
        [("From", "Time Traveller <future@example.com>"), ("To", "support@okno.test"), ("Subject", "From the future"),
         ("Date", "Fri, 01 Jan 2038 00:00:00 +0000"), ("Content-Type", "text/plain")],
        b"My clock is wrong.", date=False, msgid="<future@example.com>",
    )  # fmt: skip
    c["64_date_invalid"] = mail(
        [("From", "Bad Date <baddate@example.com>"), ("To", "support@okno.test"), ("Subject", "Bad date"), ("Date", "yesterday-ish, 99 Foo 20x6"), ("Content-Type", "text/plain")],
        b"The Date header is garbage.", date=False, msgid="<baddate@example.com>",
    )  # fmt: skip
    c["65_reply_threading"] = simple(
        "Jane Doe <jane.doe@example.com>", "Re: [#1042] Order not arrived", "It arrived, thank you!",
        ("In-Reply-To", "<reply-1042-7@okno.test>"),
        ("References", "<req-1042@example.com>\r\n <ack-1042@okno.test>\r\n <reply-1042-7@okno.test>"), msgid="<thread@example.com>",
    )  # fmt: skip
    c["66_romanian"] = simple("Andrei Ionescu <andrei@example.ro>", "Problemă cu factura", RO, msgid="<ro@example.ro>")
    c["67_mixed_short"] = simple("Short <short@example.com>", "ok", "ok, спасибо!", msgid="<short@example.com>")
    c["68_no_from"] = mail(
        [("Sender", "Only Sender <sender-only@example.com>"), ("To", "support@okno.test"), ("Subject", "No From header"), ("Content-Type", "text/plain")],
        b"Sent by a script without From.", msgid="<nofrom@example.com>",
    )  # fmt: skip
    c["69_exchange_suppress"] = simple(
        "Exchange User <user@corp.example>", "Meeting notes", "Notes from the meeting are below.",
        ("X-Auto-Response-Suppress", "DR, OOF, AutoReply"), msgid="<exch@corp.example>",
    )  # fmt: skip
    c["70_calendar_invite"] = mail(
        [("From", "Organizer <org@example.com>"), ("To", "support@okno.test"), ("Subject", "Invitation: demo call"), ("Content-Type", "multipart/mixed; boundary=b")],
        multipart("b", [text_part("You are invited to a demo call."),
                        part([("Content-Type", "text/calendar; method=REQUEST; charset=utf-8")], b"BEGIN:VCALENDAR\r\nEND:VCALENDAR")]),
        msgid="<ics@example.com>",
    )  # fmt: skip
    c["71_lf_only_line_endings"] = (
        b"From: Unix Mailer <unix@example.com>\nTo: support@okno.test\nSubject: LF only\nMessage-ID: <lf@example.com>\n"
        b"Date: Mon, 16 Nov 2026 10:15:00 +0000\nContent-Type: text/plain; charset=utf-8\n\nLines end with LF only.\nSecond line.\n"
    )
    c["72_ukrainian"] = simple(
        "Оксана <oksana@example.ua>", "Питання щодо замовлення",
        "Добрий день! Моє замовлення досі не прийшло, хоча минуло вже два тижні. Підкажіть, будь ласка, що робити.",
        msgid="<ua@example.ua>",
    )  # fmt: skip
    spam_cases(c)
    return c


def html_mail(sender: str, subject: str, html: str, *extra: tuple[str, str | bytes], msgid: str) -> bytes:
    return mail(
        [("From", sender), ("To", "support@okno.test"), ("Subject", subject), *extra,
         ("Content-Type", "text/html; charset=utf-8"), ("Content-Transfer-Encoding", "8bit")],
        html.encode(), msgid=msgid,
    )  # fmt: skip


FILLER = " ".join(["mountain river quiet paper window lantern"] * 12)


def spam_cases(c: dict[str, bytes]) -> None:
    """Spam, and one newsletter that is not: the spam filter's expected scores are in tests/channels/test_spam_scoring.py."""
    c["73_spam_upstream_flagged"] = simple(
        "Lucky Draw <draw@prizes.example>", "Notification", "Congratulations! You have won a new phone. Reply with your address.",
        ("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=8.2 required=5.0 tests=FREEMAIL_FROM,LOTS_OF_MONEY"),
        msgid="<won@prizes.example>",
    )  # fmt: skip
    c["74_spam_phishing_link"] = html_mail(
        "service@paypal.com <security@paypa1-alerts.example>", "Your account is limited",
        "<p>We noticed unusual activity. Confirm your details at "
        '<a href="http://paypa1-secure.example.ru/login">https://www.paypal.com/signin</a> within 24 hours.</p>',
        msgid="<limited@paypa1-alerts.example>",
    )  # fmt: skip
    c["75_spam_hidden_text_ru"] = html_mail(
        "Казино Удача <bonus@luck.example>", "ВАШ БОНУС ЖДЁТ!!!",
        "<p>Онлайн-казино дарит 500 фриспинов. Ставки на спорт без комиссии, заработок без вложений!</p>"
        '<p><a href="https://luck.example/go">Забрать бонус</a></p>'
        f'<div style="display:none; font-size:0">{FILLER}</div>',
        msgid="<bonus@luck.example>",
    )  # fmt: skip
    c["76_spam_seo_links"] = simple(
        "Growth Team <team@seo-growth.example>", "Partnership proposal",
        "Hi, we increase your sales with SEO services: first page of Google in 30 days.\n"
        "https://seo-growth.example/offer https://seo-growth.example/cases https://seo-growth.example/prices "
        "https://seo-growth.example/reviews https://seo-growth.example/contact",
        ("Cc", ", ".join(f"info{i}@shops.example" for i in range(12))),
        msgid="<offer@seo-growth.example>",
    )  # fmt: skip
    c["77_newsletter_not_spam"] = html_mail(
        "Vendor News <news@vendor.example>", "What is new in November",
        '<div style="display:none">Three new features and a webinar invitation.</div>'
        "<p>Hello! This month we added shared inboxes, faster search and dark mode. Read the details and join "
        "the webinar on Thursday where the product team shows everything and answers your questions.</p>"
        '<p><a href="https://click.mailer.example/t/abc">www.vendor.example/november</a></p>',
        ("List-Unsubscribe", "<https://vendor.example/unsubscribe>"), msgid="<november@vendor.example>",
    )  # fmt: skip
    c["78_spam_impersonating_desk"] = html_mail(
        "support@okno.test <billing-notice@mailer.example>", "Invoice overdue",
        "<p>Your subscription will be suspended today. Pay the invoice at "
        '<a href="http://pay-now.example/inv">https://okno.test/billing</a>.</p>',
        msgid="<overdue@mailer.example>",
    )  # fmt: skip


def main() -> int:
    written = 0
    for name, data in cases().items():
        path = HERE / f"{name}.eml"
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            written += 1
    print(f"{len(cases())} cases, {written} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
