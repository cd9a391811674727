"""Inbound mail as a help desk receives it, for the channel benchmarks: seeded, so every run sends the same.

Customers write from the usual providers, in English and Russian; the Russian mails come in UTF-8
and in the older KOI8-R and Windows-1251 that some clients still send. Some are HTML with a text
alternative, a few carry a photo or a PDF, and some are replies (``In-Reply-To``/``References``
and the earlier text quoted) to a mail the same customer sent earlier, which thread into its
ticket. Every mail carries the headers a forwarding server adds (``Received``, a DKIM signature),
so it is parsed as a real one would be; lines end in CRLF, as on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

REPLY_SHARE = 0.15
REPLY_DISTANCE = 40  # a reply answers a mail this many earlier or more (a quarter of a few): filed by then, usually
DUPLICATE_SHARE = 0.10
KOI8_LACKS = str.maketrans({"№": "N", "«": '"', "»": '"'})  # what writers on KOI8-R systems typed instead

PROVIDERS = ["gmail.com", "yandex.ru", "mail.ru", "outlook.com", "proton.me", "icloud.com", "bk.ru", "firma.example"]
ENGLISH_NAMES = [
    ("Anna", "Smith"), ("James", "Brown"), ("Maria", "Garcia"), ("David", "Miller"), ("Laura", "Wilson"),
    ("Peter", "Taylor"), ("Chloe", "Martin"), ("Ion", "Popescu"), ("Elena", "Ionescu"), ("Tom", "Walker"),
]  # fmt: skip
RUSSIAN_NAMES = [
    ("Анна", "Петрова", "anna.petrova"), ("Иван", "Смирнов", "ivan.smirnov"), ("Ольга", "Кузнецова", "olga.k"),
    ("Дмитрий", "Попов", "d.popov"), ("Мария", "Соколова", "m.sokolova"), ("Сергей", "Лебедев", "lebedev.s"),
    ("Екатерина", "Новикова", "katya.n"), ("Алексей", "Морозов", "moroz.alexey"), ("Наталья", "Волкова", "volkova"),
]  # fmt: skip
ENGLISH = [
    ("Order {n} has not arrived", "Hello,\n\nI ordered a kettle ({n}) ten days ago and it still has not arrived. "
     "The tracking page has said 'in transit' since Monday. Could you check where it is?\n\nThank you,\n{name}"),
    ("Refund for order {n}", "Hi,\n\nI returned order {n} two weeks ago (the parcel was signed for on the 3rd) "
     "but I have not had the refund yet. How long does it usually take?\n\nBest regards,\n{name}"),
    ("Wrong size delivered", "Good afternoon,\n\nThe boots in order {n} are a 41, I ordered a 42. Can I exchange "
     "them, and do I pay for the return?\n\n{name}"),
    ("Cannot log in to my account", "Hello support,\n\nThe password reset link says it has expired the moment "
     "I open it. I tried three times today. My order number is {n}.\n\n{name}\nSent from my phone"),
    ("Invoice with our company details", "Dear team,\n\nPlease send an invoice for order {n} with our VAT "
     "number RO1234567 and the address of our office. Our accountant needs it by Friday.\n\nKind regards,\n{name}"),
]  # fmt: skip
RUSSIAN = [
    ("Заказ №{n} не пришёл", "Здравствуйте!\n\nЯ оформила заказ №{n} десять дней назад, но посылка до сих пор "
     "не пришла. На сайте написано «в пути» с понедельника. Подскажите, пожалуйста, где она?\n\nСпасибо,\n{name}"),
    ("Возврат денег за заказ {n}", "Добрый день.\n\nДве недели назад я вернул заказ {n}, но деньги так и не "
     "пришли на карту. Сколько обычно занимает возврат?\n\nС уважением,\n{name}"),
    ("Не тот размер", "Здравствуйте,\n\nВ заказе {n} пришли ботинки 41 размера, а я заказывала 42. Можно "
     "обменять? Кто оплачивает доставку обратно?\n\n{name}"),
    ("Не могу войти в личный кабинет", "Добрый вечер!\n\nСсылка для сброса пароля пишет, что устарела, как "
     "только я её открываю. Пробовал трижды. Номер заказа {n}.\n\n{name}\nОтправлено с iPhone"),
    ("Счёт с реквизитами компании", "Уважаемые коллеги,\n\nпришлите, пожалуйста, счёт на заказ №{n} с "
     "реквизитами нашей организации (ИНН 7701234567). Бухгалтерия ждёт до пятницы.\n\n{name}"),
]  # fmt: skip
FOLLOW_UPS = {
    "en": "Hello again,\n\nAny news on this? I still have not heard back.\n\n{name}",
    "ru": "Здравствуйте ещё раз,\n\nесть ли новости? Ответа пока не было.\n\n{name}",
}


@dataclass(frozen=True)
class Customer:
    name: str
    address: str
    language: str


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str
    raw: bytes


def customers(count: int, rng: random.Random) -> list[Customer]:
    people = []
    for i in range(count):
        provider = rng.choice(PROVIDERS)
        if rng.random() < 0.4:
            first, last, login = rng.choice(RUSSIAN_NAMES)
            people.append(Customer(f"{first} {last}", f"{login}{i}@{provider}", "ru"))
        else:
            first, last = rng.choice(ENGLISH_NAMES)
            people.append(Customer(f"{first} {last}", f"{first}.{last}{i}@{provider}".lower(), "en"))
    return people


def corpus(count: int, *, mailbox: str, tag: str, seed: int) -> list[Mail]:
    """``count`` distinct mails to ``mailbox``; ``tag`` starts each Message-ID, so a run's mails are found again."""
    rng = random.Random(seed)
    people = customers(max(20, count // 5), rng)
    start = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    sent: list[tuple[Customer, str, str, str]] = []  # customer, Message-ID, subject, text
    distance = min(REPLY_DISTANCE, count // 4)
    mails = []
    for i in range(count):
        at = start + timedelta(seconds=37 * i)
        message_id = f"<{tag}.{i}.{hashlib.sha1(f'{seed}:{i}'.encode()).hexdigest()[:12]}@mail.{rng.choice(PROVIDERS)}>"
        replies = i > distance and rng.random() < REPLY_SHARE
        earlier = sent[rng.randrange(0, i - distance)] if replies else None
        if earlier is not None:
            customer, parent_id, parent_subject, parent_text = earlier
            subject = parent_subject if parent_subject.startswith("Re: ") else f"Re: {parent_subject}"
            quoted = "\n".join(f"> {line}" for line in parent_text.splitlines())
            text = FOLLOW_UPS[customer.language].format(name=customer.name) + f"\n\n{quoted}\n"
        else:
            customer = rng.choice(people)
            subject_template, text_template = rng.choice(RUSSIAN if customer.language == "ru" else ENGLISH)
            subject = subject_template.format(n=10_000 + i)
            text = text_template.format(n=10_000 + i, name=customer.name.split()[0])
            parent_id = None
        mail = _message(customer, subject, text, rng)
        for name, value in _envelope_headers(customer, mailbox, message_id, at, rng):
            mail[name] = value
        if parent_id is not None:
            mail["In-Reply-To"] = parent_id
            mail["References"] = parent_id
        sent.append((customer, message_id, subject, text))
        mails.append(Mail(message_id, customer.address, mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))))
    return mails


def with_duplicates(mails: list[Mail], *, seed: int, share: float = DUPLICATE_SHARE) -> list[Mail]:
    """The sending order: every mail, and ``share`` of them sent again (byte for byte) somewhere later."""
    rng = random.Random(seed)
    order = list(mails)
    for index in sorted(rng.sample(range(len(mails)), round(len(mails) * share)), reverse=True):
        order.insert(rng.randrange(index + 1, len(order) + 1), mails[index])
    return order


def _message(customer: Customer, subject: str, text: str, rng: random.Random) -> Message:
    roll = rng.random()
    if customer.language == "ru" and roll < 0.25:
        # A legacy client: the charset of the system it runs on, the subject encoded in it too.
        charset = rng.choice(["koi8-r", "windows-1251"])
        if charset == "koi8-r":
            text, subject = text.translate(KOI8_LACKS), subject.translate(KOI8_LACKS)
        legacy = MIMEText(text, "plain", charset)
        legacy["Subject"] = Header(subject, charset)
        legacy["From"] = formataddr((customer.name, customer.address), charset)
        return legacy
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = formataddr((customer.name, customer.address))
    mail.set_content(text)
    if roll < 0.55:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
        mail.add_alternative(
            f'<html><head><meta charset="utf-8"></head><body><div dir="ltr">{paragraphs}</div></body></html>',
            subtype="html",
        )
    if roll > 0.95:
        size = rng.randrange(20_000, 80_000)
        if rng.random() < 0.5:
            mail.add_attachment(_png(size, rng), maintype="image", subtype="png", filename="parcel.png")
        else:
            body = b"%PDF-1.4\n" + base64.b64encode(rng.randbytes(size))
            mail.add_attachment(body, maintype="application", subtype="pdf", filename="invoice.pdf")
    return mail


def _envelope_headers(
    customer: Customer, mailbox: str, message_id: str, at: datetime, rng: random.Random
) -> list[tuple[str, str]]:
    domain = customer.address.rpartition("@")[2]
    relay = f"mx{rng.randrange(1, 9)}.{domain}"
    stamp = format_datetime(at)
    return [
        ("To", mailbox),
        ("Date", stamp),
        ("Message-ID", message_id),
        ("Received", f"from {relay} ({relay} [203.0.113.{rng.randrange(1, 255)}]) by mx.shop.example "
                     f"with ESMTPS id {rng.randbytes(6).hex()} for <{mailbox}>; {stamp}"),
        ("Received", f"from [10.0.{rng.randrange(256)}.{rng.randrange(256)}] by {relay} with ESMTPSA; {stamp}"),
        ("DKIM-Signature", f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=mail; t={int(at.timestamp())}; "
                           f"h=from:to:subject:date:message-id; bh={base64.b64encode(rng.randbytes(32)).decode()}; "
                           f"b={base64.b64encode(rng.randbytes(128)).decode()}"),
        ("X-Mailer", rng.choice(["Apple Mail (2.3774)", "Microsoft Outlook 16.0", "Thunderbird 128.3", "K-9 Mail"])),
    ]  # fmt: skip


def _png(size: int, rng: random.Random) -> bytes:
    """A PNG signature and header before random bytes: enough for the sniffing a help desk does."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x00\x00\x00\x01\x80\x08\x02\x00\x00\x00"
    return header + rng.randbytes(size)
