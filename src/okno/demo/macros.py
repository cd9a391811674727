# ruff: noqa: E501  (reply texts read best unbroken)
"""The demo help desk's macros: everyday answers in Russian and English, shared, per team and personal.

Seeded through the macros service; a macro whose title exists is left alone, so a rerun
creates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from okno.accounts import service as accounts_service
from okno.accounts.models import User
from okno.accounts.permissions import Actor
from okno.automation.macros import service as macros_service
from okno.automation.macros.schemas import MacroCreate
from okno.demo.data import DOMAIN


@dataclass(frozen=True)
class DemoMacro:
    title: str
    body: str
    scope: str = "everyone"  # everyone, a team's name, or a demo agent's email (personal)
    kind: str = "reply"
    actions: dict[str, Any] = field(default_factory=dict)


MACROS = [
    DemoMacro(
        "Заказ передан курьеру",
        "Здравствуйте, {{customer.first_name}}!\n\nВаш заказ передан курьеру и будет у вас в течение 1–2 рабочих дней. Трек-номер придёт отдельным письмом, а курьер позвонит за час до приезда.\n\nЕсли что-то пойдёт не так, просто ответьте на это письмо — номер обращения {{ticket.number}}.\n\nС уважением,\n{{agent.name}}",
        scope="Delivery",
        actions={"status": "pending", "add_tags": ["delivery"]},
    ),
    DemoMacro(
        "Order handed to the courier",
        "Hi {{customer.first_name}},\n\nYour order is with the courier and will reach you within 1–2 working days. The tracking number follows in a separate email, and the courier will call an hour before arriving.\n\nIf anything goes wrong, just reply to this email (ticket {{ticket.number}}).\n\nBest regards,\n{{agent.name}}",
        scope="Delivery",
        actions={"status": "pending", "add_tags": ["delivery"]},
    ),
    DemoMacro(
        "Возврат оформлен",
        "{{customer.first_name}}, добрый день!\n\nМы оформили возврат. Деньги вернутся на карту, которой вы платили, в течение 3–10 рабочих дней — срок зависит от банка.\n\nС уважением,\n{{agent.name}}",
        scope="Billing",
        actions={"status": "solved", "add_tags": ["refund"]},
    ),
    DemoMacro(
        "Refund issued",
        "Hi {{customer.first_name}},\n\nWe have issued your refund. The money goes back to the card you paid with within 3–10 working days, depending on your bank.\n\nKind regards,\n{{agent.name}}",
        scope="Billing",
        actions={"status": "solved", "add_tags": ["refund"]},
    ),
    DemoMacro(
        "Уточнить номер заказа",
        "Здравствуйте, {{customer.first_name}}!\n\nПодскажите, пожалуйста, номер заказа — он есть в письме с подтверждением и в личном кабинете. Так мы быстрее найдём вашу покупку.\n\n{{agent.first_name}}",
        actions={"status": "pending"},
    ),
    DemoMacro(
        "Ask for the order number",
        "Hi {{customer.first_name}},\n\nCould you send us your order number? You will find it in the confirmation email and in your account. It helps us find your purchase quickly.\n\n{{agent.first_name}}",
        actions={"status": "pending"},
    ),
    DemoMacro(
        "Рады помочь — закрываем",
        "{{customer.first_name}}, рады, что всё получилось! Закрываем обращение {{ticket.number}}. Если вопрос вернётся, просто ответьте на это письмо.\n\nХорошего дня!\n{{agent.first_name}}",
        actions={"status": "solved"},
    ),
    DemoMacro(
        "Glad to help — solving",
        "Glad it worked out, {{customer.first_name}}! We are marking ticket {{ticket.number}} as solved; if the question comes back, just reply to this email.\n\nHave a good day,\n{{agent.first_name}}",
        actions={"status": "solved"},
    ),
    DemoMacro(
        "Передать в биллинг",
        "Вопрос об оплате: передаю коллегам из биллинга.",
        kind="note",
        actions={"team": "Billing", "assignee": "nobody", "add_tags": ["billing"]},
    ),
    DemoMacro(
        "Escalate to VIP",
        "Priority-plan customer: escalating to the VIP team.",
        kind="note",
        scope="VIP",
        actions={"team": "VIP", "priority": "high", "add_tags": ["escalated"]},
    ),
    DemoMacro(
        "Беру в работу",
        "{{customer.first_name}}, добрый день! Меня зовут {{agent.first_name}}, я занимаюсь вашим обращением и отвечу в течение часа.",
        scope=f"ivan@{DOMAIN}",
        actions={"assignee": "me", "status": "open"},
    ),
    DemoMacro(
        "Looking into it",
        "Hi {{customer.first_name}}, I'm {{agent.first_name}} and I'm looking into this now. I'll get back to you within the hour.",
        scope=f"emma@{DOMAIN}",
        actions={"assignee": "me", "status": "open"},
    ),
]


def seed_macros(session: Session) -> int:
    """Creates the demo macros that are not there yet; returns how many it made."""
    system = Actor.system("demo")
    existing = {m.title for m in macros_service.list_macros(session, system, scope="all")}
    teams = {t.name: t.id for t in accounts_service.list_teams(session, system)}
    made = 0
    for demo in MACROS:
        if demo.title in existing:
            continue
        actions = dict(demo.actions)
        if "team" in actions:
            actions["team_id"] = teams[actions.pop("team")]
        fields: dict[str, Any] = {"title": demo.title, "body": demo.body, "kind": demo.kind, "actions": actions}
        actor = system
        if "@" in demo.scope:
            user = session.scalar(sa.select(User).where(User.email == demo.scope))
            if user is None:
                continue
            actor = accounts_service.actor_for(session, user)
        elif demo.scope == "everyone":
            fields["scope"] = "everyone"
        else:
            fields |= {"scope": "team", "team_id": teams[demo.scope]}
        macros_service.create_macro(session, actor, data=MacroCreate.model_validate(fields))
        made += 1
    return made
