"""The demo help desk's rules: tagging refunds, urgent payment failures, priority customers to VIP.

Seeded through the rules service; a rule whose name exists is left alone, so a rerun adds
only what is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.permissions import Actor
from okno.automation.rules import service as rules_service
from okno.automation.rules.schemas import RuleCreate

REGEX_TIMEOUT = 0.05
PAYMENT_FAILS = (
    r"не\s+(работает|проходит)\s+оплата|оплата\s+не\s+(работает|проходит)"
    r"|payment\s+(fails|failed|is\s+not\s+working)"
)


def _rules(teams: dict[str, int]) -> list[dict[str, Any]]:
    text = ("subject", "body")
    return [
        {
            "name": "Refunds go to Billing",
            "description": "Возвраты и refunds: метка refund и команда Billing.",
            "triggers": ["ticket_created", "message_received"],
            "conditions": {
                "any": [
                    {"field": f, "op": "contains_any", "value": ["refund", "money back", "возврат", "верните деньги"]}
                    for f in text
                ]
            },
            "actions": [{"type": "add_tags", "value": ["refund"]}, {"type": "set_team", "value": teams["Billing"]}],
        },
        {
            "name": "Payment does not work: urgent",
            "description": "«Не работает оплата» и «payment failed» — срочно.",
            "triggers": ["ticket_created", "message_received"],
            "conditions": {
                "any": [
                    {
                        "field": f,
                        "op": "matches",
                        "value": PAYMENT_FAILS,
                    }
                    for f in text
                ]
            },
            "actions": [
                {"type": "set_priority", "value": "urgent"},
                {"type": "add_tags", "value": ["payment-failure"]},
            ],
        },
        {
            "name": "Priority plan to VIP",
            "triggers": ["ticket_created"],
            "conditions": {"all": [{"field": "customer_plan", "op": "is", "value": "priority"}]},
            "actions": [{"type": "set_team", "value": teams["VIP"]}],
        },
        {
            "name": "Out of hours: tell the customer when we answer",
            "description": "Switched off in the demo: switch it on after setting up business hours.",
            "active": False,
            "triggers": ["ticket_created"],
            "conditions": {"all": [{"field": "business_hours", "op": "is", "value": "closed"}]},
            "actions": [
                {
                    "type": "send_reply",
                    "value": {
                        "default": "Hello {{customer.first_name}}, we are closed now and will answer "
                        "#{{ticket.number}} first thing when we open.",
                        "ru": "Здравствуйте, {{customer.first_name}}! Сейчас мы не работаем; ответим на "
                        "обращение #{{ticket.number}} в начале рабочего дня.",
                    },
                }
            ],
        },
    ]


def seed_rules(session: Session) -> int:
    """Creates the demo rules that are not there yet; returns how many it made."""
    system = Actor.system("demo")
    existing = {r.name for r in rules_service.list_rules(session, system)}
    teams = {t.name: t.id for t in accounts_service.list_teams(session, system)}
    made = 0
    for rule in _rules(teams):
        if rule["name"] in existing:
            continue
        rules_service.create_rule(session, system, data=RuleCreate.model_validate(rule), regex_timeout=REGEX_TIMEOUT)
        made += 1
    return made
