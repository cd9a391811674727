"""The demo help desk's spam: two spam rules at /admin/spam, and a few spam mails in the Spam view.

Each mail is judged by the filter and filed the way received mail is, so its timeline shows the
score and the reasons. A rerun adds nothing: the rules are found by their value, and the mails
only go in while the spam folder is empty.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.models import Role
from okno.accounts.permissions import Actor
from okno.channels.language import detect_language
from okno.channels.spam import service as spam_service
from okno.channels.spam.schemas import SpamRuleIn
from okno.channels.spam.scoring import Specimen
from okno.customers import service as customers_service
from okno.tickets import service as tickets_service
from okno.tickets.models import Channel, Ticket
from okno.tickets.schemas import MessageIn

REGEX_TIMEOUT = 0.05
TEAM = "Поддержка"
RULES: list[dict[str, Any]] = [
    {"field": "domain", "match": "equals", "value": "seo-growth.example", "action": "block",
     "note": "Offers every week; blocked after the third"},
    {"field": "body", "match": "regex", "value": r"\bcrypto\s+(signals|pump)\b", "action": "score", "weight": 3,
     "note": "Crypto pump groups"},
    {"field": "domain", "match": "equals", "value": "acme.example.com", "action": "allow",
     "note": "A customer's domain: their newsletters are read"},
]  # fmt: skip
MAILS = [
    ("Lucky Draw", "draw@prize-lottery.example", "YOU HAVE WON!!!",
     "You have won the lottery jackpot. Claim your prize today: https://prize-lottery.example/a "
     "https://prize-lottery.example/b https://prize-lottery.example/c"),
    ("Казино Удача", "bonus@luck-casino.example", "ВАШ БОНУС ЖДЁТ!!!",
     "Онлайн-казино дарит 500 фриспинов! Ставки на спорт без комиссии, заработок без вложений: "
     "https://luck-casino.example/go https://luck-casino.example/bonus https://luck-casino.example/vip"),
    ("Growth Team", "team@seo-growth.example", "Partnership proposal",
     "Hello! We can bring your shop to the first page of Google in 30 days. Shall we talk?"),
]  # fmt: skip


def seed_spam(session: Session) -> None:
    system = Actor.system("demo")
    known = {rule.value for rule in spam_service.list_rules(session, system)}
    for rule in RULES:
        if rule["value"] not in known:
            spam_service.create_rule(session, system, data=SpamRuleIn.model_validate(rule), regex_timeout=REGEX_TIMEOUT)
    if session.scalar(sa.select(Ticket.id).where(Ticket.spam_at.is_not(None)).limit(1)) is not None:
        return
    team_id = next((t.id for t in accounts_service.list_teams(session, system) if t.name == TEAM), None)
    for name, email, subject, text in MAILS:
        customer = customers_service.find_or_create_by_email(session, email=email, name=name)
        specimen = Specimen(sender=email, sender_name=name, subject=subject, text=text)
        judgement = spam_service.judge(session, specimen, customer_id=customer.id, regex_timeout=REGEX_TIMEOUT)
        posted = tickets_service.receive(
            session,
            Actor(role=Role.customer, customer_id=customer.id, name=name),
            tickets_service.Incoming(
                channel=Channel.email,
                subject=subject,
                message=MessageIn(body=text),
                language=detect_language(text),
                team_id=team_id,
            ),
        )
        spam_service.file_if_spam(session, posted.ticket, judgement)
