"""Pure rule logic: condition matching, triggers, and regular expressions under a time limit."""

from __future__ import annotations

import time
from typing import Any

import pytest

from okno.automation.rules import conditions
from okno.automation.rules.conditions import Facts, Trigger
from okno.automation.rules.models import RuleKind
from okno.automation.rules.schemas import Action, Conditions, Timer, problems

TIMEOUT = 0.05

TICKET = Facts(
    ticket_id=1,
    channel="email",
    subject="Не работает оплата картой",
    body="Здравствуйте! Pay button fails, верните деньги за заказ 1042.",
    customer_plan="priority",
    tags=frozenset({"vip", "billing"}),
    language="ru",
    priority="normal",
    status="new",
    team_id=3,
    assignee_id=None,
    organization_id=7,
    mailbox_id=2,
    business_open=False,
    changes={"status": ("new", "open"), "team": (None, 3)},
)


def c(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (c("channel", "is", "email"), True),
        (c("channel", "is_not", "email"), False),
        (c("channel", "is", "chat"), False),
        (c("mailbox", "is", 2), True),
        (c("mailbox", "is", 3), False),
        # Text: case folding, also of Cyrillic.
        (c("subject", "contains", "НЕ РАБОТАЕТ ОПЛАТА"), True),
        (c("subject", "contains", "доставка"), False),
        (c("subject", "not_contains", "доставка"), True),
        (c("body", "contains_any", ["refund", "верните деньги"]), True),
        (c("body", "contains_any", ["refund", "возврат"]), False),
        (c("body", "matches", r"заказ\s+\d{4}"), True),
        (c("body", "matches", r"^pay"), False),
        (c("body", "matches", r"PAY\s+BUTTON"), True),  # case is ignored
        (c("customer_plan", "is", "priority"), True),
        (c("customer_plan", "is_not", "free"), True),
        (c("organization", "is", 7), True),
        (c("organization", "is", None), False),
        (c("tags", "includes", "vip"), True),
        (c("tags", "includes", "VIP"), True),
        (c("tags", "excludes", "vip"), False),
        (c("tags", "excludes", "refund"), True),
        (c("language", "is", "ru"), True),
        (c("language", "is_not", "en"), True),
        (c("priority", "is", "urgent"), False),
        (c("status", "is", "new"), True),
        (c("status", "changed_to", "open"), True),
        (c("status", "changed_to", "solved"), False),
        (c("priority", "changed_to", "urgent"), False),
        (c("team", "is", 3), True),
        (c("team", "changed"), True),
        (c("assignee", "is", None), True),
        (c("assignee", "changed"), False),
        (c("business_hours", "is", "closed"), True),
        (c("business_hours", "is", "open"), False),
        # No triage intent on tickets yet: neither "is" nor "is not" can be said.
        (c("intent", "is", "refund"), False),
        (c("intent", "is_not", "refund"), False),
    ],
)
def test_one_condition(condition: dict[str, Any], expected: bool) -> None:
    assert conditions.holds(condition, TICKET, timeout=TIMEOUT) is expected


def test_an_intent_condition_holds_once_tickets_carry_one() -> None:
    from dataclasses import replace

    tagged = replace(TICKET, intent="refund")
    assert conditions.holds(c("intent", "is", "refund"), tagged, timeout=TIMEOUT)
    assert conditions.holds(c("intent", "is_not", "delivery"), tagged, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ({}, True),
        ({"all": [c("channel", "is", "email"), c("language", "is", "ru")]}, True),
        ({"all": [c("channel", "is", "email"), c("language", "is", "en")]}, False),
        ({"any": [c("language", "is", "en"), c("tags", "includes", "vip")]}, True),
        ({"any": [c("language", "is", "en"), c("tags", "includes", "refund")]}, False),
        ({"all": [c("channel", "is", "email")], "any": [c("priority", "is", "high"), c("status", "is", "new")]}, True),
        ({"all": [c("channel", "is", "chat")], "any": [c("status", "is", "new")]}, False),
    ],
)
def test_all_and_any_groups(groups: dict[str, Any], expected: bool) -> None:
    assert conditions.matches(groups, TICKET, timeout=TIMEOUT) is expected


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ([], set()),
        (["created"], {Trigger.ticket_created}),
        (["created", "reply_sent"], {Trigger.ticket_created}),  # an outbound ticket is still a new ticket
        (["message_received"], {Trigger.ticket_updated, Trigger.message_received}),
        (["message_received", "status_changed"], {Trigger.ticket_updated, Trigger.message_received}),
        (["priority_changed", "tags_changed"], {Trigger.ticket_updated}),
        (["note_added"], {Trigger.ticket_updated}),
    ],
)
def test_what_a_change_triggers(kinds: list[str], expected: set[Trigger]) -> None:
    assert conditions.triggers_of(kinds) == expected


def test_a_search_that_runs_out_of_time_is_no_match_and_stops_in_time() -> None:
    started = time.monotonic()
    assert conditions.search(r"(a|aa)+$", "a" * 5000 + "!", timeout=TIMEOUT) is False
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        (r"(refund|возврат\w*)", None),
        (r"не\s+работает\s+оплата", None),
        (r"^\[#\d+\]", None),
        (r"(a|aa)+$", "too slow"),
        (r"(\w+\s?)*$", "too slow"),
        (r"(unclosed", "not a valid regular expression"),
        ("", "write a pattern"),
        ("x" * 501, "at most 500"),
    ],
)
def test_patterns_are_checked_when_saved(pattern: str, refused: str | None) -> None:
    found = conditions.check_pattern(pattern, timeout=TIMEOUT)
    if refused is None:
        assert found is None
    else:
        assert found is not None and refused in found


def rule_problems(kind: str = "trigger", triggers: list[str] | None = None, **parts: Any) -> list[tuple[str, str]]:
    return problems(
        kind=RuleKind(kind),
        triggers=[Trigger(t) for t in (["ticket_created"] if triggers is None else triggers)],
        timer=Timer.model_validate(parts["timer"]) if "timer" in parts else None,
        conditions=Conditions.model_validate(parts.get("conditions", {})),
        actions=[Action.model_validate(a) for a in parts.get("actions", [{"type": "add_tags", "value": ["x"]}])],
        regex_timeout=TIMEOUT,
    )


@pytest.mark.parametrize(
    ("parts", "paths"),
    [
        ({}, []),
        ({"triggers": []}, ["triggers"]),
        ({"conditions": {"all": [c("channel", "is", "fax")]}}, ["conditions.all.0.value"]),
        ({"conditions": {"all": [c("channel", "contains", "e")]}}, ["conditions.all.0.value"]),
        ({"conditions": {"any": [c("body", "matches", "(a|aa)+$")]}}, ["conditions.any.0.value"]),
        ({"conditions": {"all": [c("tags", "includes", "two words!")]}}, ["conditions.all.0.value"]),
        ({"conditions": {"all": [c("team", "changed", 3)]}}, ["conditions.all.0.value"]),
        ({"actions": [{"type": "set_priority", "value": "asap"}]}, ["actions.0.value"]),
        ({"actions": [{"type": "set_status", "value": "new"}]}, ["actions.0.value"]),
        (
            {"actions": [{"type": "send_reply", "value": {"default": "Hi {{customer.nickname}}"}}]},
            ["actions.0.value.default"],
        ),
        ({"actions": [{"type": "send_reply", "value": {"ru": "Привет"}}]}, ["actions.0.value"]),
        ({"actions": [{"type": "call_webhook", "value": "https://example.com/"}]}, ["actions.0.value"]),
        ({"actions": [{"type": "set_assignee", "value": "me"}]}, ["actions.0.value"]),
        (
            {
                "kind": "timed",
                "triggers": [],
                "timer": {"state": "pending", "minutes": 60},
                "conditions": {"all": [c("status", "changed_to", "open")]},
            },
            ["conditions.all.0.value"],
        ),
        ({"kind": "timed", "triggers": []}, ["timer"]),
        (
            {
                "kind": "timed",
                "triggers": [],
                "timer": {"state": "solved", "minutes": 60},
                "actions": [{"type": "acknowledge"}],
            },
            ["actions.0.type"],
        ),
    ],
)
def test_every_refusal_names_its_field(parts: dict[str, Any], paths: list[str]) -> None:
    assert [path for path, _ in rule_problems(**parts)] == paths
